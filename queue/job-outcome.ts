/**
 * What happens to a request when its job ends badly, shared by the compute worker (a failed or
 * cancelled job) and the bot side (a job BullMQ failed for stalling): the job's own bookkeeping,
 * the user's pending entry released, and the request's one reply queued.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { deliveryPayload, enqueueDelivery } from './delivery/entry.ts';
import type { FollowUp } from './jobs/define.ts';
import { type AnyJob, type JobData, type JobName, jobSpec, QUEUES } from './jobs/index.ts';
import { type UserRecords, userKey } from './records.ts';
import type { Reply } from './reply.ts';

/** The job's own bookkeeping of a final failure (e.g. a training identity back to "prepared"). */
export async function recordFailure(
  records: UserRecords,
  name: string,
  data: JobData<JobName>,
  code: string,
): Promise<void> {
  await (jobSpec(name) as AnyJob).records?.failure?.(records, data, code).catch(() => {});
}

/** The request no longer counts against the user's pending cap. */
export async function releasePending(
  redis: Redis,
  prefix: string,
  data: JobData<JobName>,
  jobId: string,
): Promise<void> {
  const requestId = data.requestId ?? jobId;
  await redis
    .srem(userKey(prefix, data.user, 'pending'), ...QUEUES.map((q) => `${q}/${requestId}`))
    .catch(() => {});
}

/** The delivery entry of a job's reply (checked; throws on anything unsafe). */
export function deliveryFor(job: Job, data: JobData<JobName>, reply: Reply, followUps?: FollowUp[]) {
  return deliveryPayload({
    user: data.user,
    target: data.target,
    requestId: data.requestId ?? (job.id as string),
    source: { queue: job.queueName, id: job.id as string, name: job.name },
    reply,
    ...(followUps?.length ? { followUps } : {}),
  });
}

/** Queue the request's one reply (an error; successes go out with the finish bookkeeping). */
export async function queueReply(
  redis: Redis,
  prefix: string,
  job: Job,
  data: JobData<JobName>,
  reply: Reply,
): Promise<void> {
  await enqueueDelivery(redis, prefix, deliveryFor(job, data, reply));
}
