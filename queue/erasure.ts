/**
 * Erasure: everything the service keeps of a user, gathered in one place so /forget cannot miss a
 * store. Jobs (waiting, running, finished) and their event entries, undelivered replies, stored
 * files, model files derived from the user's face or uploaded by them, group memberships, and the
 * user's records. Idempotent: running it again removes whatever is left.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { log } from '../base/log.ts';
import { forgetUserModels } from '../core/lora/user-models.ts';
import { cancelJob } from './cancel.ts';
import { toEntry } from './delivery/consumer.ts';
import { DELIVERY_GROUP, deliveryStreams } from './delivery/entry.ts';
import { QUEUES, type QueueName } from './jobs/index.ts';
import type { Producer } from './producer.ts';
import { userKey } from './records.ts';
import { keys } from './system.ts';

const logger = log('queue');

export interface ForgetReceipt {
  user: string;
  removed: { jobs: number; files: number; records: number; events: number };
  /** Jobs that were cancelled but had not stopped within the wait; run forget again later. */
  stillRunning: number;
  at: number;
}

/**
 * Forget a user: remove waiting and delayed jobs, cancel running ones (their results are never
 * delivered), wait for them to stop, then delete every job, event entry, artifact and record of
 * the user. Idempotent: running it again removes whatever is left.
 */
export async function forgetUser(p: Producer, user: string): Promise<ForgetReceipt> {
  // Group memberships first: the group's sets hold the user's id (the user's side is a user key).
  await forgetMemberships(p.redis, p.opts.prefix, user);
  const entries = await p.records.jobs(user);
  const jobs: Job[] = [];
  for (const e of entries) {
    const j = await p.queue(e.queue as QueueName).getJob(e.jobId);
    if (j) jobs.push(j);
  }
  const ids = new Set(entries.map((e) => e.jobId));
  // Cancel first (parents before children so flows are removed as a whole).
  for (const j of jobs) await cancelJob(p, j).catch(() => false);
  const deadline = Date.now() + p.opts.forgetWaitMs;
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
    const j = await p.queue(e.queue as QueueName).getJob(e.jobId);
    if (!j) continue;
    await j.remove({ removeChildren: true }).catch(() => runningIds.add(e.jobId));
  }
  let removedJobs = 0;
  for (const j of jobs) if (!(await p.queue(j.queueName as QueueName).getJob(j.id as string))) removedJobs++;
  for (const e of entries)
    if (!runningIds.has(e.jobId)) await p.redis.del(keys.tombstone(p.opts.prefix, e.jobId));
  const events = await scrubEvents(p, ids);
  // Replies not yet delivered (the bot process checks tombstones too, for one being sent now).
  removedJobs += await forgetDeliveries(p.redis, p.opts.prefix, user);
  // Artifacts, then model data derived from the user outside the store (face-LoRA copies,
  // merged model folders containing them, uploaded style LoRAs).
  const files = (await p.artifacts.deleteUser(user)) + (await forgetUserModels(user, p.opts.dataDir));
  // Keep the job index while something still runs, so the next forget finds it.
  const records = runningIds.size === 0 ? await p.records.deleteUserKeys(user) : 0;
  const receipt: ForgetReceipt = {
    user,
    removed: { jobs: removedJobs, files, records, events },
    stillRunning: runningIds.size,
    at: Date.now(),
  };
  logger.info({ removed: receipt.removed, stillRunning: receipt.stillRunning }, 'user forgotten');
  return receipt;
}

/** Remove the user from every group they opted into (group photos, invitations). */
async function forgetMemberships(redis: Redis, prefix: string, user: string): Promise<void> {
  for (const g of await redis.smembers(userKey(prefix, user, 'groups'))) {
    await redis.srem(`${g}:members`, user);
    await redis.hdel(`${g}:names`, user);
  }
}

/** BullMQ's event streams keep job ids and results: drop the user's entries. */
async function scrubEvents(p: Producer, ids: Set<string>): Promise<number> {
  if (ids.size === 0) return 0;
  let removed = 0;
  for (const q of QUEUES) {
    const stream = `${p.opts.prefix}:${q}:events`;
    const entries = (await p.redis.xrange(stream, '-', '+')) as [string, string[]][];
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
      removed += await p.redis.xdel(stream, ...drop.slice(i, i + 500));
  }
  return removed;
}

/**
 * Remove a user's undelivered entries (forget): the stream only holds undelivered replies, so a
 * scan is short. Returns how many were removed.
 */
export async function forgetDeliveries(redis: Redis, prefix: string, user: string): Promise<number> {
  let removed = 0;
  for (const stream of await deliveryStreams(redis, prefix)) {
    let start = '-';
    for (;;) {
      const page = (await redis.xrange(stream, start, '+', 'COUNT', 500)) as [string, string[]][];
      const drop = page.filter(([, f]) => toEntry('', f).user === user).map(([sid]) => sid);
      if (drop.length) {
        removed += await redis.xdel(stream, ...drop);
        await redis.xack(stream, DELIVERY_GROUP, ...drop).catch(() => 0);
      }
      if (page.length < 500) break;
      start = `(${page[page.length - 1][0]}`;
    }
  }
  return removed;
}
