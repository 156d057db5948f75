/**
 * The bookkeeping of a finished job in one EVALSHA (lua/finish.lua): its duration (for wait estimates), its
 * running slot and its pending entries, and the request's delivery (queued on the delivery
 * stream in the same script, so a finished job and its reply cannot part ways).
 * A Lua script rather than an ioredis pipeline: a pipeline on the connection BullMQ shares
 * copies every BullMQ script onto itself when built, which cost more CPU than the commands.
 */
import type { Redis } from 'ioredis';
import { type DeliveryFields, deliveryArgs } from './delivery/entry.ts';
import { runScript, SCRIPTS } from './lua/scripts.ts';

export async function recordFinish(
  redis: Redis,
  prefix: string,
  k: { durations: string; running: string; pending: string },
  a: {
    ms: number;
    runningEntry?: string;
    pendingEntries: string[];
    delivery?: DeliveryFields;
    /** A progress notice to publish (queue/progress-feed.ts). */
    notice?: { channel: string; payload: string };
  },
): Promise<void> {
  const d = a.delivery
    ? deliveryArgs(prefix, a.delivery)
    : { keys: ['', '', '', '', ''].map(() => k.pending), args: ['', '', '', 0] };
  await runScript(
    redis,
    SCRIPTS.finish,
    8,
    k.durations,
    k.running,
    k.pending,
    ...d.keys,
    a.ms,
    a.runningEntry ?? '',
    ...d.args,
    a.notice?.channel ?? '',
    a.notice?.payload ?? '',
    ...a.pendingEntries,
  );
}
