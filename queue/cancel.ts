/**
 * Cancelling a user's request: waiting jobs are removed; running ones get a tombstone and a
 * cancel message, their processor sees an aborted signal between stages, and nothing is delivered.
 */
import type { Job } from 'bullmq';
import { InputError } from '../base/errors.ts';
import type { QueueName } from './jobs/index.ts';
import type { Producer } from './producer.ts';
import { findJob } from './status.ts';
import { keys, queueUnavailable as unavailable } from './system.ts';

/**
 * Cancel a waiting or running job of this user. Waiting jobs are removed; running ones get a
 * tombstone and a cancel message, their processor sees an aborted signal between stages, and
 * nothing is delivered. Returns false when the job had already finished.
 */
export async function cancelRequest(p: Producer, id: string, user: string): Promise<boolean> {
  const job = await findJob(p, id).catch(unavailable);
  if (!job || job.data?.user !== user)
    throw new InputError('no_such_job', `You have no job "${id}". Use /status to see your jobs.`, {
      context: { id },
    });
  return cancelJob(p, job);
}

export async function cancelJob(p: Producer, job: Job): Promise<boolean> {
  const state = await job.getState();
  if (state === 'completed' || state === 'failed' || state === 'unknown') return false;
  const ids = [job.id as string, ...(await flowChildren(p, job)).map((c) => c.id as string)];
  const multi = p.redis.multi();
  for (const i of ids) multi.set(keys.tombstone(p.opts.prefix, i), '1', 'EX', 86_400);
  await multi.exec();
  if (state !== 'active') {
    try {
      await job.remove({ removeChildren: true });
      await p.limits.release(job.data.user, `${job.queueName}/${job.id}`);
      return true;
    } catch {
      // Became active (or a child is active) in the meantime: cancel it as a running job.
    }
  }
  for (const i of ids) await p.redis.publish(keys.cancelChannel(p.opts.prefix), i);
  return true;
}

async function flowChildren(p: Producer, job: Job): Promise<Job[]> {
  const out: Job[] = [];
  const deps = await job.getDependencies({ processed: {}, unprocessed: {} }).catch(() => undefined);
  const childKeys = [...Object.keys(deps?.processed ?? {}), ...(deps?.unprocessed ?? [])];
  for (const k of childKeys) {
    const m = /^(.*):([^:]+):([^:]+)$/.exec(k);
    if (!m) continue;
    const c = await p.queue(m[2] as QueueName).getJob(m[3]);
    if (c) out.push(c, ...(await flowChildren(p, c)));
  }
  return out;
}
