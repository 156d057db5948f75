/**
 * The producer API commands use: enqueue a job or a flow under an idempotent id, read status
 * (state, stage, percent, queue position, ETA), cancel, list a user's jobs, and forget a user.
 * It never runs work; workers (queue/worker.ts) do.
 */
import { FlowProducer, type Job, type JobsOptions, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { InputError, NotAvailableError } from '../base/errors.ts';
import { log } from '../base/log.ts';
import type { ArtifactStore } from '../core/storage/artifacts.ts';
import { cancelRequest } from './cancel.ts';
import type { DeliveryData } from './delivery/entry.ts';
import { type ForgetReceipt, forgetUser } from './erasure.ts';
import { checkJobId, childJobId } from './ids.ts';
import type { FollowUp } from './jobs/define.ts';
import {
  isJobName,
  type JobInput,
  type JobName,
  jobSpec,
  parseJobData,
  QUEUES,
  type QueueName,
} from './jobs/index.ts';
import { UserLimits } from './limits.ts';
import { type NoticeKind, ProgressFeed } from './progress-feed.ts';
import { UserRecords, userKey } from './records.ts';
import { findJob, type JobView, jobStatus, jobView, listUserJobs } from './status.ts';
import {
  type JobSystemOptions,
  keys,
  openArtifacts,
  queueHandle,
  redisConnection,
  queueUnavailable as unavailable,
} from './system.ts';

const logger = log('queue');

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

export class Producer {
  readonly redis: Redis;
  readonly records: UserRecords;
  readonly limits: UserLimits;
  readonly artifacts: ArtifactStore;
  private readonly queues = new Map<QueueName, Queue>();
  private flow?: FlowProducer;
  private feed?: ProgressFeed;

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
    return queueHandle(this.queues, name, this.redis, this.opts.prefix);
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
    const def = jobSpec(name);
    const id = checkJobId(o.idempotencyKey);
    const parsed = parseJobData(name, { ...data, requestId: id, free: undefined });
    if (o.user && o.user !== parsed.user)
      throw new InputError('wrong_user', 'A job can only be enqueued for the user who asked for it.');
    return this.submit(parsed.user, def.queue, id, [name], [`${def.queue}/${id}`], async (free) => {
      const job = free ? { ...parsed, free } : parsed;
      await this.queue(def.queue).add(name, job, this.jobOptions(id, def.priority?.(parsed) ?? 0));
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
      const def = jobSpec(s.name);
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
          ...this.jobOptions(n.id, n.def.priority?.(n.data) ?? 0),
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
          jobSpec(name).feature.name,
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

  /** Call `onChange` when request `id` starts, moves on or ends (queue/progress-feed.ts). */
  watch(id: string, onChange: (kind: NoticeKind) => void): Promise<() => void> {
    this.feed ??= new ProgressFeed(this.redis, this.opts.prefix);
    return this.feed.watch(id, onChange);
  }

  /** Find a job by id in any queue. */
  findJob(id: string): Promise<Job | undefined> {
    return findJob(this, id);
  }

  status(id: string): Promise<JobView | undefined> {
    return jobStatus(this, id);
  }

  view(job: Job): Promise<JobView> {
    return jobView(this, job);
  }

  /** Cancel a waiting or running request of this user; false when it had already finished. */
  cancel(id: string, user: string): Promise<boolean> {
    return cancelRequest(this, id, user);
  }

  /** The user's jobs, newest first (finished jobs until they expire). */
  listUserJobs(user: string): Promise<JobView[]> {
    return listUserJobs(this, user);
  }

  /** Erase everything of a user (queue/erasure.ts). */
  forget(user: string): Promise<ForgetReceipt> {
    return forgetUser(this, user);
  }

  async close(): Promise<void> {
    await this.feed?.close();
    for (const q of this.queues.values()) await q.close();
    await this.flow?.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/**
 * Starts the jobs a delivered reply declares (queue/jobs/define.ts, FollowUp), once per request:
 * the follow-up's id derives from the request, so a retried delivery never starts it twice.
 */
export function followUpStarter(p: Producer): (d: DeliveryData, f: FollowUp) => Promise<void> {
  return async (d, f) => {
    if (!isJobName(f.name)) return;
    if (f.ifAvailable && !(await p.available(f.name))) return;
    const data = { ...f.data, user: d.user, target: d.target } as JobInput<typeof f.name>;
    await p.enqueue(f.name, data, { idempotencyKey: `${d.requestId ?? d.source.id}-${f.key}` });
  };
}
