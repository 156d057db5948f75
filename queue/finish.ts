/**
 * The bookkeeping of a finished job in one EVALSHA: its duration (for wait estimates), its
 * running slot and its pending entries, and the request's delivery (queued on the delivery
 * stream in the same script, so a finished job and its reply cannot part ways).
 * A Lua script rather than an ioredis pipeline: a pipeline on the connection BullMQ shares
 * copies every BullMQ script onto itself when built, which cost more CPU than the commands.
 */
import type { Redis } from 'ioredis';
import { type DeliveryFields, deliveryArgs, QUEUE_DELIVERY_LUA } from './delivery.ts';
import { runScript } from './limits.ts';

/**
 * KEYS: durations, running, pending, then the delivery's five (stream, queued marker, three
 * tombstones). ARGV: ms, running entry ('' = none), delivery id, user, data ('' = no delivery),
 * ttl, pending entries...
 */
const FINISH = `
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, 49)
if ARGV[2] ~= '' then redis.call('SREM', KEYS[2], ARGV[2]) end
for i = 7, #ARGV do redis.call('SREM', KEYS[3], ARGV[i]) end
local stream, queued, t1, t2, t3 = KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local id, user, data, ttl = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
${QUEUE_DELIVERY_LUA}
return queued_ok and 1 or 0`;

export async function recordFinish(
  redis: Redis,
  prefix: string,
  k: { durations: string; running: string; pending: string },
  a: { ms: number; runningEntry?: string; pendingEntries: string[]; delivery?: DeliveryFields },
): Promise<void> {
  const d = a.delivery
    ? deliveryArgs(prefix, a.delivery)
    : { keys: ['', '', '', '', ''].map(() => k.pending), args: ['', '', '', 0] };
  await runScript(
    redis,
    FINISH,
    8,
    k.durations,
    k.running,
    k.pending,
    ...d.keys,
    a.ms,
    a.runningEntry ?? '',
    ...d.args,
    ...a.pendingEntries,
  );
}
