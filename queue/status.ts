/**
 * What users and operators read about a job: state, stage, percent, queue position and ETA, the
 * user-facing error of a failed one; and a user's jobs. Reads only.
 */
import type { Job } from 'bullmq';
import { checkJobId } from './ids.ts';
import { QUEUES, type QueueName } from './jobs/index.ts';
import type { Producer } from './producer.ts';
import { keys, queueUnavailable as unavailable } from './system.ts';

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
  /** A preview picture of a running job (artifact ref of the user's; gone after the job). */
  preview?: string;
  /** 1-based place in its queue while waiting. */
  position?: number;
  etaSeconds?: number;
  attempts: number;
  result?: unknown;
  error?: { code: string; message: string; key?: string };
  createdAt: number;
  finishedAt?: number;
}

/** "[code] message" in BullMQ's failedReason, so status can return the user-facing error. */
export function encodeFailure(code: string, message: string, key?: string): string {
  return `[${code}${key ? `#${key}` : ''}] ${message}`;
}

/** The user-facing error back from BullMQ's failedReason; `key` names its catalog entry when it has one. */
export function decodeFailure(
  reason: string | undefined,
): { code: string; message: string; key?: string } | undefined {
  if (!reason) return undefined;
  const m = /^\[([a-z0-9_]+)(?:#([a-z][a-z0-9_.-]{0,63}))?\] ([\s\S]*)$/.exec(reason);
  if (!m) return { code: 'internal', message: reason };
  return { code: m[1], message: m[3], ...(m[2] ? { key: m[2] } : {}) };
}

/** Find a job by id in any queue. */
export async function findJob(p: Producer, id: string): Promise<Job | undefined> {
  checkJobId(id);
  for (const q of QUEUES) {
    const job = await p.queue(q).getJob(id);
    if (job) return job;
  }
  return undefined;
}

export async function jobStatus(p: Producer, id: string): Promise<JobView | undefined> {
  try {
    const job = await findJob(p, id);
    return job ? await jobView(p, job) : undefined;
  } catch (e) {
    return unavailable(e);
  }
}

export async function jobView(p: Producer, job: Job): Promise<JobView> {
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
    preview?: string;
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
    ...(state === 'active' && typeof progress.preview === 'string' ? { preview: progress.preview } : {}),
    attempts: job.attemptsMade,
    createdAt: job.timestamp,
    finishedAt: job.finishedOn,
  };
  if (state === 'completed') v.result = job.returnvalue;
  if (state === 'failed' || state === 'cancelled') v.error = failure;
  if (state === 'waiting' || state === 'active') await estimate(p, job, rawState, v);
  return v;
}

/** Queue position and ETA from the mean of recent durations of this job name. */
async function estimate(p: Producer, job: Job, rawState: string, v: JobView): Promise<void> {
  if (rawState === 'waiting-children') {
    // A flow's parent: report the step that is running or next.
    const deps = await job.getDependencies({ processed: {}, unprocessed: { count: 10 } });
    const child = deps.unprocessed?.[0];
    if (child) {
      const [, , queue, childId] = /^(.*):([^:]+):([^:]+)$/.exec(child) ?? [];
      const c = queue ? await p.queue(queue as QueueName).getJob(childId) : undefined;
      if (c) {
        const cv = await jobView(p, c);
        Object.assign(v, { stage: cv.stage ?? cv.name, percent: cv.percent, position: cv.position });
        v.etaSeconds = cv.etaSeconds;
      }
    }
    return;
  }
  const q = p.queue(job.queueName as QueueName);
  const durations = (await p.redis.lrange(keys.durations(p.opts.prefix, job.name), 0, 49)).map(Number);
  const mean = durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : undefined;
  if (rawState === 'active') {
    const elapsed = Date.now() - (job.processedOn ?? Date.now());
    if (v.percent && v.percent > 0)
      v.etaSeconds = Math.round(((elapsed / v.percent) * (100 - v.percent)) / 1000);
    else if (mean !== undefined) v.etaSeconds = Math.max(0, Math.round((mean - elapsed) / 1000));
    return;
  }
  const base = `${p.opts.prefix}:${job.queueName}`;
  const waitLen = await p.redis.llen(`${base}:wait`);
  let position: number | undefined;
  if (rawState === 'waiting') {
    const idx = await p.redis.lpos(`${base}:wait`, job.id as string);
    if (idx !== null) position = waitLen - idx; // workers take from the tail
  } else if (rawState === 'prioritized') {
    const rank = await p.redis.zrank(`${base}:prioritized`, job.id as string);
    if (rank !== null) position = waitLen + rank + 1;
  } else if (rawState === 'delayed') {
    position = waitLen + (await p.redis.zcard(`${base}:prioritized`)) + 1;
  }
  v.position = position;
  if (position !== undefined && mean !== undefined) {
    const workers = Math.max(1, await q.getWorkersCount().catch(() => 1));
    const active = await q.getActiveCount();
    v.etaSeconds = Math.round((Math.ceil((position + active) / workers) * mean) / 1000);
  }
}

/** The user's jobs, newest first (finished jobs until they expire). */
export async function listUserJobs(p: Producer, user: string): Promise<JobView[]> {
  try {
    const out: JobView[] = [];
    for (const e of await p.records.jobs(user)) {
      const job = await p.queue(e.queue as QueueName).getJob(e.jobId);
      if (job) out.push(await jobView(p, job));
      else await p.records.unindexJob(user, e.queue, e.jobId);
    }
    return out;
  } catch (e) {
    return unavailable(e);
  }
}
