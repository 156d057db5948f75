/**
 * The bookkeeping of a finished job in one EVALSHA: its duration (for wait estimates), the
 * request's deliver job in the user's index, its running slot and its pending entries.
 * A Lua script rather than an ioredis pipeline: a pipeline on the connection BullMQ shares
 * copies every BullMQ script onto itself when built, which cost more CPU than the commands.
 */
import type { Redis } from 'ioredis';
import { runScript } from './limits.ts';

/**
 * KEYS: durations, jobs index, running, pending.
 * ARGV: ms, index score, index member ('' = none), running entry ('' = none), pending entries...
 */
const FINISH = `
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, 49)
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3]) end
if ARGV[4] ~= '' then redis.call('SREM', KEYS[3], ARGV[4]) end
for i = 5, #ARGV do redis.call('SREM', KEYS[4], ARGV[i]) end
return 1`;

export async function recordFinish(
  redis: Redis,
  k: { durations: string; index: string; running: string; pending: string },
  a: { ms: number; indexMember?: string; runningEntry?: string; pendingEntries: string[] },
): Promise<void> {
  await runScript(
    redis,
    FINISH,
    4,
    k.durations,
    k.index,
    k.running,
    k.pending,
    a.ms,
    Date.now(),
    a.indexMember ?? '',
    a.runningEntry ?? '',
    ...a.pendingEntries,
  );
}
