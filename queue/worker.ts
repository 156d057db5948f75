/**
 * A worker process's job runner: one BullMQ Worker per queue it serves, a thread pool for
 * inference, cancellation (pub/sub + tombstones → AbortSignal), per-user running limits,
 * retries with the user-facing error kept, delivery enqueueing, metrics, and a graceful close
 * that hands unfinished jobs back to the queue at its deadline.
 */
import { EventEmitter } from 'node:events';
import { DelayedError, type Job, type Queue, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  CancelledError,
  ConfigError,
  errorInfo,
  FacechainError,
  InputError,
  isFacechainError,
  ModelError,
  NotAvailableError,
} from '../base/errors.ts';
import { en } from '../base/i18n/en.ts';
import { log } from '../base/log.ts';
import type { ArtifactStore } from '../core/storage/artifacts.ts';
import { BotSide } from './delivery/bot-side.ts';
import type { DeliveryData } from './delivery/entry.ts';
import { recordFinish } from './finish.ts';
import { deliveryFor, queueReply, recordFailure, releasePending } from './job-outcome.ts';
import type {
  FollowUp,
  NotInstalled,
  ProcessorContext,
  ProcessorSpec,
  ProgressExtra,
} from './jobs/define.ts';
import {
  JOB_NAMES,
  type JobData,
  type JobName,
  jobSpec,
  QUEUES,
  type QueueName,
  readJobData,
} from './jobs/index.ts';
import { UserLimits } from './limits.ts';
import { addDepthSource, jobDuration, jobsTotal, stalledTotal } from './metrics.ts';
import { notifyProgress, progressNotice } from './progress-feed.ts';
import { type Identity, identitySchema, UserRecords, userKey } from './records.ts';
import type { Deliverers } from './reply.ts';
import { encodeFailure } from './status.ts';
import {
  CAPABILITY_TTL_SECONDS,
  type JobSystemOptions,
  keys,
  openArtifacts,
  queueHandle,
  redisConnection,
} from './system.ts';
import { ThreadPool } from './thread-pool.ts';

const logger = log('worker');

export interface JobWorkerOptions {
  queues: QueueName[];
  /**
   * Processors that replace the job table's own for some jobs (a GPU machine's own table, test
   * doubles for the outside world). Resolved when the worker starts.
   */
  processors?: Partial<Record<JobName, Processor | Promise<Processor>>>;
  /**
   * Starts a job a delivered reply declares (the bot process passes `followUpStarter(producer)`);
   * without it follow-ups are skipped (a worker alone, the job-layer tests).
   */
  startFollowUp?: (d: DeliveryData, f: FollowUp) => Promise<void>;
  /** Required when serving the deliver queue (the bot process). */
  deliverers?: Deliverers;
  concurrency?: number;
  threads?: number;
  /** How long close() waits for running jobs before handing them back. */
  shutdownDeadlineMs?: number;
  /** How long a cancelled thread task may take to stop before its thread is replaced. */
  abortGraceMs?: number;
}

const SHUTDOWN = 'shutdown';
/** Shortest time between two progress notices of one job (queue/progress-feed.ts). */
const PROGRESS_NOTICE_MS = 250;

/** What a job runs on this worker: a processor, or why it cannot run here. */
export type Processor = ProcessorSpec | NotInstalled;

const runs = (p: Processor | undefined): p is ProcessorSpec => p !== undefined && p.kind !== 'not-installed';

export class JobWorker extends EventEmitter {
  readonly redis: Redis;
  readonly artifacts: ArtifactStore;
  private readonly records: UserRecords;
  private readonly limits: UserLimits;
  private readonly workers: Worker[] = [];
  private readonly controllers = new Map<string, AbortController>();
  private readonly queues = new Map<string, Queue>();
  private botSide?: BotSide;
  private subscriber?: Redis;
  private pool?: ThreadPool;
  private poll?: NodeJS.Timeout;
  private removeDepth?: () => void;
  private processors: Partial<Record<JobName, Processor>> = {};
  private closing?: Promise<{ handedBack: number }>;

  constructor(
    readonly sys: JobSystemOptions,
    readonly o: JobWorkerOptions,
    deps: { artifacts?: ArtifactStore } = {},
  ) {
    super();
    for (const q of o.queues)
      if (!(QUEUES as readonly string[]).includes(q))
        throw new FacechainError('bad_queue', `Unknown queue "${q}". Queues: ${QUEUES.join(', ')}.`);
    this.redis = redisConnection(sys.redisUrl, 'worker');
    this.artifacts = deps.artifacts ?? openArtifacts(sys);
    this.records = new UserRecords(this.redis, sys.prefix);
    this.limits = new UserLimits(this.redis, sys.prefix, sys.limits, async () => true);
    if (o.queues.includes('deliver') && !o.deliverers)
      throw new FacechainError('no_deliverers', 'Serving the deliver queue needs deliverers.');
  }

  private queue(name: string): Queue {
    return queueHandle(this.queues, name, this.redis, this.sys.prefix);
  }

  /** Each served job's processor: the override, else the job table's (which checks its models). */
  private async resolveProcessors(): Promise<void> {
    const served = JOB_NAMES.filter((n) => this.o.queues.includes(jobSpec(n).queue));
    const resolved = await Promise.all(
      served.map(async (n) => [n, await (this.o.processors?.[n] ?? jobSpec(n).processor())] as const),
    );
    this.processors = Object.fromEntries(resolved);
  }

  async start(): Promise<void> {
    await this.resolveProcessors();
    const needsThreads = Object.values(this.processors).some((p) => runs(p) && p.kind === 'thread');
    if (needsThreads)
      this.pool = new ThreadPool(
        this.o.threads ?? 1,
        { dir: this.sys.artifactsDir, s3: this.sys.artifactsS3 },
        this.o.abortGraceMs,
      );
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('error', () => {});
    this.subscriber.on('message', (_ch, id: string) => this.controllers.get(id)?.abort());
    await this.subscriber.subscribe(keys.cancelChannel(this.sys.prefix));
    await this.advertise();
    // Backup for a cancel message missed while disconnected: look for tombstones every second;
    // and refresh the "this job has a worker" heartbeats.
    let tick = 0;
    this.poll = setInterval(() => {
      void this.checkTombstones();
      if (++tick % 20 === 0) void this.advertise().catch(() => {});
    }, 1000);
    this.poll.unref();
    for (const q of this.o.queues) {
      if (q === 'deliver') continue; // a stream read by the bot side (delivery/bot-side.ts), not a BullMQ queue
      const w = new Worker(
        q,
        (job, token) => {
          const run = this.process(job, token);
          // A forced close abandons in-flight promises; their later rejection must not crash the process.
          run.catch(() => {});
          return run;
        },
        {
          connection: this.redis,
          prefix: this.sys.prefix,
          concurrency: this.o.concurrency ?? 1,
          lockDuration: this.sys.lockDurationMs,
          stalledInterval: this.sys.stalledIntervalMs,
          maxStalledCount: 1,
        },
      );
      w.on('error', (e) => logger.warn({ err: e, queue: q }, 'worker error'));
      // Starts and completions are announced inside their own scripts (start.lua, finish.lua);
      // failures here, after BullMQ has moved the job (they are rare).
      w.on('failed', (job) => {
        if (job?.id)
          notifyProgress(this.redis, this.sys.prefix, progressNotice(job.data?.requestId ?? job.id, 'done'));
      });
      w.on('stalled', (jobId) => {
        stalledTotal.inc({ queue: q });
        this.emit('stalled', jobId);
      });
      this.workers.push(w);
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    if (this.o.queues.includes('deliver')) await this.startDelivery();
    this.removeDepth = addDepthSource(async () =>
      Promise.all(
        this.o.queues.map(async (q) => ({
          queue: q,
          counts:
            q === 'deliver' && this.botSide
              ? await this.botSide.depth()
              : await this.queue(q).getJobCounts(
                  'waiting',
                  'prioritized',
                  'delayed',
                  'active',
                  'completed',
                  'failed',
                  'waiting-children',
                ),
        })),
      ),
    );
    logger.info({ queues: this.o.queues, threads: this.pool?.size ?? 0 }, 'worker started');
  }

  /** The bot process: send replies from the delivery stream, and report jobs that stalled for good. */
  private async startDelivery(): Promise<void> {
    this.botSide = new BotSide({
      redis: this.redis,
      prefix: this.sys.prefix,
      deliverers: this.o.deliverers ?? {},
      artifacts: this.artifacts,
      records: this.records,
      concurrency: Math.max(4, this.o.concurrency ?? 1),
      leaseMs: this.sys.lockDurationMs,
      startFollowUp: this.o.startFollowUp,
      queue: (name) => this.queue(name),
      events: this,
    });
    await this.botSide.start();
  }

  /**
   * Read the delivery lane of every deliverer that names its bot (Deliverer.botId). The bot
   * process calls this once its front-ends started: a bot's lane is read only where it runs.
   */
  async serveDeliveryLanes(): Promise<void> {
    if (!this.closing) await this.botSide?.serveLanes();
  }

  get runningJobs(): number {
    return this.controllers.size;
  }

  get isRunning(): boolean {
    const serving = this.workers.length > 0 || this.botSide !== undefined;
    return serving && this.workers.every((w) => w.isRunning()) && !this.closing;
  }

  /** Jobs this worker really runs (not the "not available" answers), for the producer's check. */
  runnableJobs(): JobName[] {
    return (Object.entries(this.processors) as [JobName, Processor][])
      .filter(([, p]) => runs(p))
      .map(([n]) => n);
  }

  private async advertise(): Promise<void> {
    const m = this.redis.multi();
    for (const n of this.runnableJobs())
      m.set(keys.capability(this.sys.prefix, n), String(process.pid), 'EX', CAPABILITY_TTL_SECONDS);
    await m.exec();
  }

  private async checkTombstones(): Promise<void> {
    for (const [id, c] of this.controllers) {
      if (c.signal.aborted) continue;
      if ((await this.redis.exists(keys.tombstone(this.sys.prefix, id)).catch(() => 0)) > 0) c.abort();
    }
  }

  private async isActive(entry: string): Promise<boolean> {
    const [q, id] = entry.split('/');
    return (await this.queue(q).getJobState(id)) === 'active';
  }

  private async process(job: Job, token?: string): Promise<unknown> {
    const name = job.name as JobName;
    const id = job.id as string;
    let data: JobData<JobName>;
    try {
      data = readJobData(name, job.data);
    } catch (e) {
      jobsTotal.inc({ queue: job.queueName, name, outcome: 'failed' });
      throw new UnrecoverableError(encodeFailure(errorInfo(e).code, errorInfo(e).message));
    }
    const entry = `${job.queueName}/${id}`;
    // A free request (queue/limits.ts, ADMIT) cannot break the user's running limit: it starts
    // without the START round trip. A cancel that races its start still reaches it (the cancel
    // message, the tombstone poll, and the finish script that queues no reply for it).
    const limited = !data.free;
    const identityId = (data as { identityId?: string }).identityId;
    const identityKey = identityId ? userKey(this.sys.prefix, data.user, 'identity', identityId) : undefined;
    const controller = new AbortController();
    let identityRaw: string | null = null;
    if (limited) {
      // The identity record the job names is read in the START round trip (one write, not two).
      const started = await this.limits.start(
        data.user,
        entry,
        keys.tombstone(this.sys.prefix, id),
        data.requestId ?? id,
        (e) => this.isActive(e),
        identityKey,
        { channel: keys.progressChannel(this.sys.prefix), payload: data.requestId ?? id },
      );
      if (started.state === -1) return this.cancelled(job, data);
      identityRaw = started.value;
      if (started.state === 0) {
        // The user already has their share of running jobs: try again shortly.
        await job.moveToDelayed(Date.now() + 500 + Math.floor(Math.random() * 1000), token);
        throw new DelayedError();
      }
    }
    let runningReleased = !limited;
    this.controllers.set(id, controller);
    const started = Date.now();
    try {
      if (!limited && identityKey) identityRaw = await this.redis.get(identityKey);
      const result = await this.runProcessor(
        job,
        name,
        data,
        controller.signal,
        // Parsed here so a bad record fails the job like any other error (slot released below).
        identityRaw === null ? undefined : identitySchema.parse(JSON.parse(identityRaw)),
      );
      if (controller.signal.aborted) throw new CancelledError();
      const def = jobSpec(name);
      const checked = def.result.safeParse(result);
      if (!checked.success)
        throw new Error(
          `processor for ${name} returned an invalid result: ${checked.error.issues[0]?.message}`,
        );
      const ms = Date.now() - started;
      const requestId = data.requestId ?? id;
      const delivers = def.delivers !== false && !job.parent;
      await def.records?.result?.(this.records, data, checked.data);
      // Bookkeeping and the delivery in one script. A cancel that lands after this point is
      // still honoured: the bot process checks the tombstones before sending.
      const finish = recordFinish(
        this.redis,
        this.sys.prefix,
        {
          durations: keys.durations(this.sys.prefix, name),
          running: this.limits.runningKeyOf(data.user),
          pending: this.limits.pendingKeyOf(data.user),
        },
        {
          ms,
          runningEntry: limited ? entry : undefined,
          pendingEntries: job.parent ? [] : QUEUES.map((q) => `${q}/${requestId}`),
          delivery: delivers
            ? deliveryFor(job, data, def.reply(checked.data, data), def.followUps?.(checked.data, data))
            : undefined,
          notice: {
            channel: keys.progressChannel(this.sys.prefix),
            payload: progressNotice(requestId, job.parent ? 'step' : 'done'),
          },
        },
      );
      this.afterCompletion(finish, id);
      runningReleased = true;
      jobDuration.observe({ queue: job.queueName, name }, ms / 1000);
      jobsTotal.inc({ queue: job.queueName, name, outcome: 'completed' });
      this.emit('completed', id, name);
      return checked.data;
    } catch (e) {
      if (controller.signal.reason === SHUTDOWN || (this.closing && e instanceof CancelledError)) {
        // Hand the job back so another worker (or this one after restart) runs it.
        await job.moveToWait(token);
        jobsTotal.inc({ queue: job.queueName, name, outcome: 'handed-back' });
        throw new WaitingError();
      }
      if (e instanceof CancelledError || controller.signal.aborted) return this.cancelled(job, data);
      throw await this.failure(job, data, e);
    } finally {
      this.controllers.delete(id);
      if (!runningReleased) await this.limits.stopRunning(data.user, entry).catch(() => {});
    }
  }

  private async runProcessor(
    job: Job,
    name: JobName,
    data: JobData<JobName>,
    signal: AbortSignal,
    identity: Identity | undefined,
  ) {
    const spec = this.processors[name];
    const def = jobSpec(name);
    // Models or tools missing here: a clear "not available", never a stand-in result.
    if (!runs(spec)) throw new NotAvailableError(def.feature.name, def.feature.howToEnable, { job: name });
    const base = {
      jobId: job.id as string,
      requestId: data.requestId ?? (job.id as string),
      name,
      data,
      attempt: job.attemptsMade + 1,
      previous: data.flow ? await this.previous(job) : {},
      identity,
    };
    await def.records?.start?.(this.records, data, base.identity);
    // Followers hear of a change at most every PROGRESS_NOTICE_MS (the new state is in the job).
    let noticed = 0;
    let preview: string | undefined;
    const progress = (stage: string, percent: number, extra?: ProgressExtra) => {
      const pct = Math.max(0, Math.min(100, Math.round(percent)));
      // A preview stays with the job's progress until the next one (or the end) replaces it.
      if (extra && 'preview' in extra) preview = extra.preview;
      job
        .updateProgress({ stage, percent: pct, ...(preview ? { preview } : {}) })
        .then(() => {
          // A new preview is news at once; other reports at most every PROGRESS_NOTICE_MS.
          if (Date.now() - noticed < PROGRESS_NOTICE_MS && !(extra && 'preview' in extra)) return;
          noticed = Date.now();
          notifyProgress(this.redis, this.sys.prefix, base.requestId);
        })
        .catch(() => {});
    };
    if (spec.kind === 'inline')
      return spec.run({ ...base, signal, progress, artifacts: this.artifacts } as ProcessorContext<never>);
    if (!this.pool) throw new FacechainError('no_pool', 'Thread pool not started.');
    return this.pool.run(spec.module, spec.exportName, base, signal, progress);
  }

  /** Results of the flow steps this job waited for, by job name. */
  private async previous(job: Job): Promise<Record<string, unknown>> {
    const values = await job.getChildrenValues();
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(values)) {
      const m = /^(.*):([^:]+):([^:]+)$/.exec(key);
      const child = m ? await this.queue(m[2]).getJob(m[3]) : undefined;
      if (child) out[child.name] = value;
    }
    return out;
  }

  private async cancelled(job: Job, data: JobData<JobName>): Promise<never> {
    jobsTotal.inc({ queue: job.queueName, name: job.name, outcome: 'cancelled' });
    await recordFailure(this.records, job.name, data, 'cancelled');
    await releasePending(this.redis, this.sys.prefix, data, job.id as string);
    this.emit('cancelled', job.id);
    throw new UnrecoverableError(encodeFailure('cancelled', 'The job was cancelled.'));
  }

  /** Decide retry or final failure; on final failure deliver the user-facing error once. */
  private async failure(job: Job, data: JobData<JobName>, e: unknown): Promise<Error> {
    const fe = isFacechainError(e) ? e : undefined;
    const retryable = fe ? fe.retryable : true;
    const final = !retryable || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const info = errorInfo(e);
    if (!final) {
      jobsTotal.inc({ queue: job.queueName, name: job.name, outcome: 'retry' });
      logger.warn({ jobId: job.id, name: job.name, code: info.code, err: e }, 'job failed, will retry');
      return new Error(encodeFailure(info.code, info.message));
    }
    jobsTotal.inc({ queue: job.queueName, name: job.name, outcome: 'failed' });
    // A user's bad input is routine; anything else is for the operator.
    if (fe instanceof InputError || fe instanceof NotAvailableError)
      logger.info({ jobId: job.id, name: job.name, code: info.code }, 'job refused');
    else logger.warn({ jobId: job.id, name: job.name, code: info.code, err: e }, 'job failed');
    const shown =
      !fe || fe.retryable
        ? { code: fe?.code ?? 'internal', message: en['joberror.internal'], key: 'joberror.internal' }
        : fe instanceof ModelError || fe instanceof ConfigError // the operator's to fix; details stay in the log
          ? { code: fe.code, message: en['joberror.model'], key: 'joberror.model' }
          : info;
    await recordFailure(this.records, job.name, data, shown.code);
    await releasePending(this.redis, this.sys.prefix, data, job.id as string);
    // Last, with BullMQ's move to failed (the script skips a cancelled request).
    this.afterCompletion(
      queueReply(this.redis, this.sys.prefix, job, data, { text: shown.message, images: [], error: shown }),
      job.id,
    );
    this.emit('failed', job.id, shown.code);
    const reason = encodeFailure(shown.code, shown.message, 'key' in shown ? shown.key : undefined);
    return retryable ? new Error(reason) : new UnrecoverableError(reason);
  }

  /**
   * `command` is already written to the connection BullMQ shares, ahead of BullMQ's completion of
   * the job, so Redis runs it first. Not awaited: waiting for its reply before completing would
   * add a round trip per job. (Holding the socket corked so both go out in one write was measured
   * slower: a worker process alone ran a third fewer jobs per second; docs/jobs.md.)
   */
  private afterCompletion(command: Promise<unknown>, jobId?: string): void {
    command.catch((err) =>
      logger.error({ err, jobId }, 'could not record a finished job or queue its reply'),
    );
  }

  /**
   * Stop taking jobs, let running ones finish until the deadline, then hand the rest back to
   * the queue (moved to wait, not failed) and close connections.
   */
  close(deadlineMs = this.o.shutdownDeadlineMs ?? 30_000): Promise<{ handedBack: number }> {
    this.closing ??= (async () => {
      clearInterval(this.poll);
      this.removeDepth?.();
      const graceful = Promise.all(this.workers.map((w) => w.close()));
      let handedBack = 0;
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), deadlineMs).unref()),
      ]);
      if (timedOut) {
        handedBack = this.controllers.size;
        for (const c of this.controllers.values()) c.abort(SHUTDOWN);
        const forced = await Promise.race([
          graceful.then(() => false),
          new Promise<boolean>((r) =>
            setTimeout(() => r(true), (this.o.abortGraceMs ?? 5000) + 2000).unref(),
          ),
        ]);
        // Still stuck: drop the locks; BullMQ's stalled check gives the jobs to another worker.
        if (forced) await Promise.all(this.workers.map((w) => w.close(true)));
      }
      await this.botSide?.close(timedOut ? 1000 : deadlineMs);
      await this.pool?.close();
      for (const q of this.queues.values()) await q.close().catch(() => {});
      await this.subscriber?.quit().catch(() => {});
      await this.redis.quit().catch(() => this.redis.disconnect());
      logger.info({ handedBack }, 'worker closed');
      return { handedBack };
    })();
    return this.closing;
  }
}
