/**
 * The producer API commands use: enqueue a job or a flow under an idempotent id, read status
 * (state, stage, percent, queue position, ETA), cancel, list a user's jobs, and forget a user.
 * It never runs work; workers (queue/worker.ts) do.
 */
import { FlowProducer, type Job, type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { InputError, isFacechainError, NotAvailableError, ServiceError } from '../base/errors.ts';
import { log } from '../base/log.ts';
import type { ArtifactStore } from '../core/storage/artifacts.ts';
import { forgetDeliveries } from './delivery.ts';
import { checkJobId, childJobId } from './ids.ts';
import { type JobInput, type JobName, jobDef, parseJobData, QUEUES, type QueueName } from './jobs.ts';
import { UserLimits } from './limits.ts';
import { UserRecords, userKey } from './records.ts';
import { type JobSystemOptions, keys, openArtifacts, redisConnection } from './system.ts';
import { forgetUserModels } from './user-models.ts';

const logger = log('queue');

const FEATURES: Partial<Record<JobName, string>> = {
  analyze: 'Photo analysis',
  'prepare-identity': 'Identity preparation',
  template: 'Template portraits',
  'train-lora': 'Face-model (LoRA) training',
  generate: 'Portrait generation',
  'try-on': 'Virtual try-on',
  talk: 'Talking portraits',
};

export type JobState = 'waiting' | 'active' | 'completed' | 'failed' | 'cancelled' | 'unknown';

export interface JobView {
  id: string;
  name: string;
  queue: string;
  user: string;
  state: JobState;
  /** BullMQ's own state (waiting, prioritized, delayed, waiting-children, active, ...). */
  rawState: string;
  stage?: string;
  percent?: number;
  /** 1-based place in its queue while waiting. */
  position?: number;
  etaSeconds?: number;
  attempts: number;
  result?: unknown;
  error?: { code: string; message: string };
  createdAt: number;
  finishedAt?: number;
}

export interface EnqueueOptions {
  /** A job id derived from the platform update/interaction id (see ids.ts jobIdFor). */
  idempotencyKey: string;
  /** When given, must equal data.user (a command can only enqueue for its own user). */
  user?: string;
}

export interface EnqueueResult {
  id: string;
  queue: QueueName;
  /** True when this idempotency key was seen before: nothing new was enqueued. */
  duplicate: boolean;
}

/** One step of a flow: a job name and its own data (user, target and ids come from the flow). */
export type FlowStep = {
  [N in JobName]: { name: N; data: Omit<JobInput<N>, 'user' | 'target' | 'requestId' | 'flow'> };
}[JobName];

export interface ForgetReceipt {
  user: string;
  removed: { jobs: number; files: number; records: number; events: number };
  /** Jobs that were cancelled but had not stopped within the wait; run forget again later. */
  stillRunning: number;
  at: number;
}

/** "[code] message" in BullMQ's failedReason, so status can return the user-facing error. */
export function encodeFailure(code: string, message: string): string {
  return `[${code}] ${message}`;
}

export function decodeFailure(reason: string | undefined): { code: string; message: string } | undefined {
  if (!reason) return undefined;
  const m = /^\[([a-z0-9_]+)\] ([\s\S]*)$/.exec(reason);
  return m ? { code: m[1], message: m[2] } : { code: 'internal', message: reason };
}

function unavailable(e: unknown): never {
  if (isFacechainError(e)) throw e;
  throw new ServiceError(
    'queue_unavailable',
    'The job system is busy or unreachable right now. Please try again in a minute.',
    { cause: e },
  );
}

export class Producer {
  readonly redis: Redis;
  readonly records: UserRecords;
  readonly limits: UserLimits;
  readonly artifacts: ArtifactStore;
  private readonly queues = new Map<QueueName, Queue>();
  private flow?: FlowProducer;

  constructor(
    readonly opts: JobSystemOptions,
    deps: { redis?: Redis; artifacts?: ArtifactStore } = {},
  ) {
    this.redis = deps.redis ?? redisConnection(opts.redisUrl, 'producer');
    this.records = new UserRecords(this.redis, opts.prefix);
    this.artifacts = deps.artifacts ?? openArtifacts(opts);
    this.limits = new UserLimits(this.redis, opts.prefix, opts.limits, (entry) => this.isUnfinished(entry));
  }

  queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.redis, prefix: this.opts.prefix });
      q.on('error', () => {});
      this.queues.set(name, q);
    }
    return q;
  }

  private flowProducer(): FlowProducer {
    this.flow ??= new FlowProducer({ connection: this.redis, prefix: this.opts.prefix });
    this.flow.on('error', () => {});
    return this.flow;
  }

  jobOptions(jobId: string, priority: number): JobsOptions {
    return {
      jobId,
      priority: priority || undefined,
      attempts: this.opts.attempts,
      backoff: { type: 'exponential', delay: this.opts.backoffMs, jitter: 0.5 },
      removeOnComplete: { age: this.opts.keepCompletedSeconds },
      removeOnFail: { age: this.opts.keepFailedSeconds },
    };
  }

  /** Enqueue one job. Bad data, limits and quota are refused here with an InputError. */
  async enqueue<N extends JobName>(name: N, data: JobInput<N>, o: EnqueueOptions): Promise<EnqueueResult> {
    const def = jobDef(name);
    const id = checkJobId(o.idempotencyKey);
    const parsed = parseJobData(name, { ...data, requestId: id, free: undefined });
    if (o.user && o.user !== parsed.user)
      throw new InputError('wrong_user', 'A job can only be enqueued for the user who asked for it.');
    return this.submit(parsed.user, def.queue, id, [name], [`${def.queue}/${id}`], async (free) => {
      const job = free ? { ...parsed, free } : parsed;
      await this.queue(def.queue).add(name, job, this.jobOptions(id, def.priority(parsed as never)));
    });
  }

  /**
   * Enqueue steps that depend on each other (e.g. prepare-identity → train-lora → generate) as
   * one request: each step waits for the previous one, the last is the parent the user sees, and
   * a failing step fails the request. Children's results reach the next step as `children`.
   */
  async enqueueFlow(
    steps: FlowStep[],
    common: { user: string; target: JobInput<'analyze'>['target'] },
    o: EnqueueOptions,
  ): Promise<EnqueueResult> {
    if (steps.length === 0) throw new InputError('empty_flow', 'A flow needs at least one step.');
    const requestId = checkJobId(o.idempotencyKey);
    if (o.user && o.user !== common.user)
      throw new InputError('wrong_user', 'A job can only be enqueued for the user who asked for it.');
    const nodes = steps.map((s, i) => {
      const def = jobDef(s.name);
      const id = i === steps.length - 1 ? requestId : childJobId(requestId, `${i}${s.name}`);
      const data = parseJobData(s.name, { ...s.data, ...common, requestId, flow: true, free: undefined });
      return { def, id, data };
    });
    const root = nodes[nodes.length - 1];
    const names = steps.map((s) => s.name);
    const members = nodes.map((n) => `${n.def.queue}/${n.id}`);
    return this.submit(common.user, root.def.queue, requestId, names, members, async (free) => {
      // Build the tree from the first step (deepest child) up to the root.
      // biome-ignore lint/suspicious/noExplicitAny: BullMQ's FlowJob tree type is recursive
      let tree: any;
      for (const n of nodes) {
        const opts = {
          ...this.jobOptions(n.id, n.def.priority(n.data as never)),
          failParentOnFailure: true,
        };
        tree = {
          name: n.def.name,
          queueName: n.def.queue,
          data: free ? { ...n.data, free } : n.data,
          opts,
          children: tree ? [tree] : undefined,
        };
      }
      await this.flowProducer().add(tree);
    });
  }

  /** Whether some worker runs this job right now (front-ends can hide what is not available). */
  async available(name: JobName): Promise<boolean> {
    if (this.opts.requireWorker === false) return true;
    return (await this.redis.exists(keys.capability(this.opts.prefix, name)).catch(unavailable)) === 1;
  }

  /**
   * Idempotency claim, "a worker runs it", limits, quota and job index in one round trip
   * (UserLimits.admit), then the add; the claim and quota are undone if the add fails.
   */
  private async submit(
    user: string,
    queue: QueueName,
    id: string,
    names: JobName[],
    indexMembers: string[],
    /** Adds the job(s); `free` as ADMIT decided (queue/limits.ts). */
    add: (free: boolean) => Promise<void>,
  ): Promise<EnqueueResult> {
    const idem = userKey(this.opts.prefix, user, 'idem', id);
    const entry = `${queue}/${id}`;
    try {
      const admitted = await this.limits.admit({
        user,
        idemKey: idem,
        claimValue: `claimed-${Date.now()}`,
        claimTtl: 7 * 86_400,
        entry,
        capabilityKeys:
          this.opts.requireWorker === false
            ? []
            : [...new Set(names)].map((n) => keys.capability(this.opts.prefix, n)),
        indexMembers,
      });
      if (admitted.kind === 'nocap') {
        const name = admitted.key.split(':').pop() as JobName;
        throw new NotAvailableError(
          FEATURES[name] ?? `The "${name}" job`,
          'No worker that runs it is connected (see docs/jobs.md, "Workers").',
          { job: name },
        );
      }
      const owned = admitted.kind === 'ok';
      if (!owned) {
        // A re-sent update or a double click: wait for the first attempt to finish adding. If its
        // claim is gone it failed (retry from the start); if it stays unfinished, the first
        // attempt died between claim and add (e.g. Redis restarted), so finish it here.
        for (let waited = 0; ; waited += 50) {
          const state = await this.redis.get(idem);
          if (state === null) return this.submit(user, queue, id, names, indexMembers, add);
          if (state === 'added' || (await this.queue(queue).getJob(id)))
            return { id, queue, duplicate: true };
          if (waited >= 3000) break;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      try {
        await add(admitted.kind === 'ok' && admitted.free);
      } catch (e) {
        logger.warn({ err: e, jobId: id }, 'enqueue failed');
        if (owned) await this.limits.refund(user, entry).catch(() => {});
        await this.redis.del(idem).catch(() => {});
        throw e;
      }
      // Not awaited: the worker confirms the claim too when the job starts (limits.ts START).
      this.redis.set(idem, 'added', 'KEEPTTL', 'XX').catch(() => {});
      return { id, queue, duplicate: false };
    } catch (e) {
      return unavailable(e);
    }
  }

  private async isUnfinished(entry: string): Promise<boolean> {
    const [queue, id] = entry.split('/');
    if (!(QUEUES as readonly string[]).includes(queue)) return false;
    const state = await this.queue(queue as QueueName).getJobState(id);
    return !['completed', 'failed', 'unknown'].includes(state);
  }

  /** Find a job by id in any queue. */
  async findJob(id: string): Promise<Job | undefined> {
    checkJobId(id);
    for (const q of QUEUES) {
      const job = await this.queue(q).getJob(id);
      if (job) return job;
    }
    return undefined;
  }

  async status(id: string): Promise<JobView | undefined> {
    try {
      const job = await this.findJob(id);
      return job ? await this.view(job) : undefined;
    } catch (e) {
      return unavailable(e);
    }
  }

  async view(job: Job): Promise<JobView> {
    const rawState = await job.getState();
    const failure = decodeFailure(job.failedReason);
    const state: JobState =
      rawState === 'active'
        ? 'active'
        : rawState === 'completed'
          ? 'completed'
          : rawState === 'failed'
            ? failure?.code === 'cancelled'
              ? 'cancelled'
              : 'failed'
            : rawState === 'unknown'
              ? 'unknown'
              : 'waiting';
    const progress = (typeof job.progress === 'object' ? job.progress : {}) as {
      stage?: string;
      percent?: number;
    };
    const v: JobView = {
      id: job.id as string,
      name: job.name,
      queue: job.queueName,
      user: job.data?.user,
      state,
      rawState,
      stage: progress.stage,
      percent: progress.percent,
      attempts: job.attemptsMade,
      createdAt: job.timestamp,
      finishedAt: job.finishedOn,
    };
    if (state === 'completed') v.result = job.returnvalue;
    if (state === 'failed' || state === 'cancelled') v.error = failure;
    if (state === 'waiting' || state === 'active') await this.estimate(job, rawState, v);
    return v;
  }

  /** Queue position and ETA from the mean of recent durations of this job name. */
  private async estimate(job: Job, rawState: string, v: JobView): Promise<void> {
    if (rawState === 'waiting-children') {
      // A flow's parent: report the step that is running or next.
      const deps = await job.getDependencies({ processed: {}, unprocessed: { count: 10 } });
      const child = deps.unprocessed?.[0];
      if (child) {
        const [, , queue, childId] = /^(.*):([^:]+):([^:]+)$/.exec(child) ?? [];
        const c = queue ? await this.queue(queue as QueueName).getJob(childId) : undefined;
        if (c) {
          const cv = await this.view(c);
          Object.assign(v, { stage: cv.stage ?? cv.name, percent: cv.percent, position: cv.position });
          v.etaSeconds = cv.etaSeconds;
        }
      }
      return;
    }
    const q = this.queue(job.queueName as QueueName);
    const durations = (await this.redis.lrange(keys.durations(this.opts.prefix, job.name), 0, 49)).map(
      Number,
    );
    const mean = durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : undefined;
    if (rawState === 'active') {
      const elapsed = Date.now() - (job.processedOn ?? Date.now());
      if (v.percent && v.percent > 0)
        v.etaSeconds = Math.round(((elapsed / v.percent) * (100 - v.percent)) / 1000);
      else if (mean !== undefined) v.etaSeconds = Math.max(0, Math.round((mean - elapsed) / 1000));
      return;
    }
    const base = `${this.opts.prefix}:${job.queueName}`;
    const waitLen = await this.redis.llen(`${base}:wait`);
    let position: number | undefined;
    if (rawState === 'waiting') {
      const idx = await this.redis.lpos(`${base}:wait`, job.id as string);
      if (idx !== null) position = waitLen - idx; // workers take from the tail
    } else if (rawState === 'prioritized') {
      const rank = await this.redis.zrank(`${base}:prioritized`, job.id as string);
      if (rank !== null) position = waitLen + rank + 1;
    } else if (rawState === 'delayed') {
      position = waitLen + (await this.redis.zcard(`${base}:prioritized`)) + 1;
    }
    v.position = position;
    if (position !== undefined && mean !== undefined) {
      const workers = Math.max(1, await q.getWorkersCount().catch(() => 1));
      const active = await q.getActiveCount();
      v.etaSeconds = Math.round((Math.ceil((position + active) / workers) * mean) / 1000);
    }
  }

  /**
   * Cancel a waiting or running job of this user. Waiting jobs are removed; running ones get a
   * tombstone and a cancel message, their processor sees an aborted signal between stages, and
   * nothing is delivered. Returns false when the job had already finished.
   */
  async cancel(id: string, user: string): Promise<boolean> {
    const job = await this.findJob(id).catch(unavailable);
    if (!job || job.data?.user !== user)
      throw new InputError('no_such_job', `You have no job "${id}". Use /status to see your jobs.`, {
        context: { id },
      });
    return this.cancelJob(job);
  }

  private async cancelJob(job: Job): Promise<boolean> {
    const state = await job.getState();
    if (state === 'completed' || state === 'failed' || state === 'unknown') return false;
    const ids = [job.id as string, ...(await this.flowChildren(job)).map((c) => c.id as string)];
    const multi = this.redis.multi();
    for (const i of ids) multi.set(keys.tombstone(this.opts.prefix, i), '1', 'EX', 86_400);
    await multi.exec();
    if (state !== 'active') {
      try {
        await job.remove({ removeChildren: true });
        await this.limits.release(job.data.user, `${job.queueName}/${job.id}`);
        return true;
      } catch {
        // Became active (or a child is active) in the meantime: cancel it as a running job.
      }
    }
    for (const i of ids) await this.redis.publish(keys.cancelChannel(this.opts.prefix), i);
    return true;
  }

  private async flowChildren(job: Job): Promise<Job[]> {
    const out: Job[] = [];
    const deps = await job.getDependencies({ processed: {}, unprocessed: {} }).catch(() => undefined);
    const childKeys = [...Object.keys(deps?.processed ?? {}), ...(deps?.unprocessed ?? [])];
    for (const k of childKeys) {
      const m = /^(.*):([^:]+):([^:]+)$/.exec(k);
      if (!m) continue;
      const c = await this.queue(m[2] as QueueName).getJob(m[3]);
      if (c) out.push(c, ...(await this.flowChildren(c)));
    }
    return out;
  }

  /** The user's jobs, newest first (finished jobs until they expire). */
  async listUserJobs(user: string): Promise<JobView[]> {
    try {
      const out: JobView[] = [];
      for (const e of await this.records.jobs(user)) {
        const job = await this.queue(e.queue as QueueName).getJob(e.jobId);
        if (job) out.push(await this.view(job));
        else await this.records.unindexJob(user, e.queue, e.jobId);
      }
      return out;
    } catch (e) {
      return unavailable(e);
    }
  }

  /**
   * Forget a user: remove waiting and delayed jobs, cancel running ones (their results are never
   * delivered), wait for them to stop, then delete every job, event entry, artifact and record of
   * the user. Idempotent: running it again removes whatever is left.
   */
  async forget(user: string): Promise<ForgetReceipt> {
    const entries = await this.records.jobs(user);
    const jobs: Job[] = [];
    for (const e of entries) {
      const j = await this.queue(e.queue as QueueName).getJob(e.jobId);
      if (j) jobs.push(j);
    }
    const ids = new Set(entries.map((e) => e.jobId));
    // Cancel first (parents before children so flows are removed as a whole).
    for (const j of jobs) await this.cancelJob(j).catch(() => false);
    const deadline = Date.now() + this.opts.forgetWaitMs;
    let running: Job[] = [];
    for (;;) {
      running = [];
      for (const j of jobs) if ((await j.getState()) === 'active') running.push(j);
      if (running.length === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const runningIds = new Set(running.map((j) => j.id as string));
    for (const e of entries) {
      if (runningIds.has(e.jobId)) continue;
      const j = await this.queue(e.queue as QueueName).getJob(e.jobId);
      if (!j) continue;
      await j.remove({ removeChildren: true }).catch(() => runningIds.add(e.jobId));
    }
    let removedJobs = 0;
    for (const j of jobs)
      if (!(await this.queue(j.queueName as QueueName).getJob(j.id as string))) removedJobs++;
    for (const e of entries)
      if (!runningIds.has(e.jobId)) await this.redis.del(keys.tombstone(this.opts.prefix, e.jobId));
    const events = await this.scrubEvents(ids);
    // Replies not yet delivered (the bot process checks tombstones too, for one being sent now).
    removedJobs += await forgetDeliveries(this.redis, this.opts.prefix, user);
    // Artifacts, then model data derived from the user outside the store (face-LoRA copies,
    // merged model folders containing them, uploaded style LoRAs).
    const files = (await this.artifacts.deleteUser(user)) + (await forgetUserModels(user, this.opts.dataDir));
    // Keep the job index while something still runs, so the next forget finds it.
    const records = runningIds.size === 0 ? await this.records.deleteUserKeys(user) : 0;
    const receipt: ForgetReceipt = {
      user,
      removed: { jobs: removedJobs, files, records, events },
      stillRunning: runningIds.size,
      at: Date.now(),
    };
    logger.info({ removed: receipt.removed, stillRunning: receipt.stillRunning }, 'user forgotten');
    return receipt;
  }

  /** BullMQ's event streams keep job ids and results: drop the user's entries. */
  private async scrubEvents(ids: Set<string>): Promise<number> {
    if (ids.size === 0) return 0;
    let removed = 0;
    for (const q of QUEUES) {
      const stream = `${this.opts.prefix}:${q}:events`;
      const entries = (await this.redis.xrange(stream, '-', '+')) as [string, string[]][];
      const drop: string[] = [];
      for (const [eid, fields] of entries) {
        for (let i = 0; i < fields.length; i += 2) {
          const k = fields[i];
          const val = fields[i + 1];
          if (
            (k === 'jobId' || k === 'parentId') &&
            [...ids].some((id) => val === id || val.endsWith(`:${id}`))
          ) {
            drop.push(eid);
            break;
          }
        }
      }
      for (let i = 0; i < drop.length; i += 500)
        removed += await this.redis.xdel(stream, ...drop.slice(i, i + 500));
    }
    return removed;
  }

  async close(): Promise<void> {
    for (const q of this.queues.values()) await q.close();
    await this.flow?.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
