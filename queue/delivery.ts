/**
 * The `deliver` job, run in the bot process: sends a finished request's Reply through the chat
 * front-end for its platform. It is retried on its own (a failed upload never re-runs GPU work),
 * and a per-request "delivered" marker makes it exactly-once in effect: a retried GPU job adds
 * the same deliver job id, and a second deliver job for the same request finds the marker.
 * Nothing is delivered for a cancelled or forgotten request (tombstone checked just before).
 */
import type { Redis } from 'ioredis';
import { CancelledError, NotAvailableError } from '../core/errors.ts';
import { log } from '../core/log.ts';
import { userKey } from '../core/storage/records.ts';
import type { JobResult } from './jobs.ts';
import { runScript } from './limits.ts';
import type { ProcessorContext, ProcessorFn } from './processor.ts';
import type { Deliverers } from './reply.ts';
import { keys } from './system.ts';

export const DELIVERED_TTL_SECONDS = 7 * 86_400;

/** KEYS: three tombstones, the delivered marker. Returns {tombstones found, marker found}. */
const CHECK = `return {redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3]), redis.call('EXISTS', KEYS[4])}`;

export function deliveryProcessor(deps: {
  redis: Redis;
  prefix: string;
  deliverers: Deliverers;
  onDelivered?: (requestId: string) => void;
}): ProcessorFn<'deliver'> {
  return async (ctx: ProcessorContext<'deliver'>): Promise<JobResult<'deliver'>> => {
    const { data } = ctx;
    const requestId = data.requestId ?? data.source.id;
    const tombstones = [
      keys.tombstone(deps.prefix, data.source.id),
      keys.tombstone(deps.prefix, requestId),
      keys.tombstone(deps.prefix, ctx.jobId),
    ];
    const marker = userKey(deps.prefix, data.user, 'delivered', requestId);
    // One round trip for both checks, right before sending (nothing awaited in between, so a
    // second tombstone check here would only cost a round trip). A script, not a pipeline: see
    // finish.ts.
    const [dead, done] = (await runScript(deps.redis, CHECK, 4, ...tombstones, marker)) as [number, number];
    if (dead > 0) return { delivered: false, reason: 'cancelled' };
    if (done > 0) return { delivered: false, reason: 'already delivered' };
    const deliverer = deps.deliverers[data.target.platform];
    if (!deliverer)
      throw new NotAvailableError(
        `Delivery to ${data.target.platform}`,
        'Start the bot process with that front-end configured.',
      );
    if (ctx.signal.aborted) throw new CancelledError();
    await deliverer.deliver(data.target, data.reply, {
      requestId,
      user: data.user,
      artifacts: ctx.artifacts,
      signal: ctx.signal,
    });
    // Not awaited: it goes out on the worker's connection ahead of BullMQ's own completion of
    // this job, so Redis applies it first; if the connection drops, both are retried together.
    deps.redis.set(marker, ctx.jobId, 'EX', DELIVERED_TTL_SECONDS).catch((err) => {
      log('deliver').error({ err, requestId }, 'could not record the delivery marker');
    });
    deps.onDelivered?.(requestId);
    return { delivered: true };
  };
}
