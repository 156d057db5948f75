/**
 * A request's reply on its way to the bot process: the entry the worker adds to the delivery
 * stream (in the same script as its finish bookkeeping, or alone for an error). It carries what
 * rendering needs (the target, the reply, the job that made it) and the follow-up jobs its
 * delivery starts, so the bot process asks Redis nothing more. How the stream is read:
 * consumer.ts; the guarantees: docs/jobs.md, "Delivery".
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { InputError } from '../../base/errors.ts';
import { deliverJobId } from '../ids.ts';
import { baseData, type FollowUp } from '../jobs/define.ts';
import { assertSafePayload, describeIssues } from '../jobs/index.ts';
import { runScript, SCRIPTS } from '../lua/scripts.ts';
import { userKey } from '../records.ts';
import { type Reply, replySchema } from '../reply.ts';
import { keys } from '../system.ts';

const followUpSchema = z.object({
  name: z.string().regex(/^[a-z-]{1,40}$/),
  data: z.record(z.string().max(32), z.unknown()),
  key: z.string().regex(/^[a-z0-9-]{1,20}$/),
  ifAvailable: z.boolean().optional(),
});

export const deliverySchema = baseData.extend({
  /** The job whose result (or failure) this is: its name picks the result buttons. */
  source: z.object({ queue: z.string(), id: z.string(), name: z.string() }),
  reply: replySchema,
  /** Jobs to start once the reply is delivered (declared by the job, e.g. training after the report). */
  followUps: z.array(followUpSchema).max(4).optional(),
});
export type DeliveryData = z.infer<typeof deliverySchema>;

/** Shape check of an entry read back from the stream. */
export function readDelivery(raw: string): DeliveryData {
  const parsed = deliverySchema.safeParse(JSON.parse(raw));
  if (!parsed.success)
    throw new InputError('bad_job_data', `Delivery refused: ${describeIssues(parsed.error)}.`);
  return parsed.data;
}

export const DELIVERED_TTL_SECONDS = 7 * 86_400;
export const DELIVERY_GROUP = 'bots';
export const DELIVERY_ATTEMPTS = 8;

/**
 * The lane of a reply: the bot that must send it. Replies to a chat bot (its invocation named the
 * bot in `target.extra.bot`: Telegram bot id, Discord application id) go on that bot's own
 * stream, so two bots sharing a Redis (or a Telegram and a Discord bot process) never take each
 * other's replies; the rest (web, command line, older entries) share the main stream.
 */
export function deliveryLane(target: {
  platform: string;
  extra?: Record<string, string | number>;
}): string | undefined {
  const bot = target.extra?.bot;
  return bot === undefined || bot === '' ? undefined : `${target.platform}:${bot}`;
}

export const deliveryStream = (prefix: string, lane?: string): string =>
  lane ? `${prefix}:deliveries:${lane}` : `${prefix}:deliveries`;
/** The lanes bot processes have served (so forget and the retention sweep find their streams). */
export const laneSetKey = (prefix: string): string => `${prefix}:delivery-lanes`;

/** Every delivery stream: the main one and each bot lane's. */
export async function deliveryStreams(redis: Redis, prefix: string): Promise<string[]> {
  const lanes = await redis.smembers(laneSetKey(prefix));
  return [deliveryStream(prefix), ...lanes.sort().map((l) => deliveryStream(prefix, l))];
}
/** Set when a request's delivery is queued (first reply wins). */
export const queuedKey = (prefix: string, user: string, requestId: string): string =>
  userKey(prefix, user, 'dlvq', requestId);
/** Set when a request's reply was sent. */
export const deliveredKey = (prefix: string, user: string, requestId: string): string =>
  userKey(prefix, user, 'delivered', requestId);

export interface DeliveryFields {
  /** The delivery's id (dlv-<request id>). */
  id: string;
  user: string;
  data: DeliveryData;
}

/**
 * Reply text comes from processors and error messages; a URL in it (a model hub link in some
 * error) would make the deliver payload fail the guard and the user would hear nothing.
 */
export function safeReply(reply: Reply): Reply {
  const clean = (t: string) => t.replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<link removed>').slice(0, 4000);
  return {
    ...reply,
    text: clean(reply.text),
    ...(reply.error ? { error: { code: reply.error.code, message: clean(reply.error.message) } } : {}),
  };
}

/** The validated deliver payload for a request's reply (throws on anything unsafe). */
export function deliveryPayload(a: {
  user: string;
  target: unknown;
  requestId: string;
  source: { queue: string; id: string; name: string };
  reply: Reply;
  followUps?: FollowUp[];
}): DeliveryFields {
  // Guarded here, where it is written; its shape is checked where it is read (the bot process).
  const data = { ...a, reply: safeReply(a.reply) } as DeliveryData;
  assertSafePayload('deliver', data);
  return { id: deliverJobId(a.requestId), user: a.user, data };
}

/** Keys and arguments of QUEUE_DELIVERY_LUA for one delivery (also used by the finish script). */
export function deliveryArgs(prefix: string, d: DeliveryFields) {
  const requestId = d.data.requestId ?? d.data.source.id;
  return {
    keys: [
      deliveryStream(prefix, deliveryLane(d.data.target)),
      queuedKey(prefix, d.user, requestId),
      keys.tombstone(prefix, d.data.source.id),
      keys.tombstone(prefix, requestId),
      keys.tombstone(prefix, d.id),
    ],
    args: [d.id, d.user, JSON.stringify(d.data), DELIVERED_TTL_SECONDS],
  };
}

/** Queue a delivery (an error reply, a stall failure). False when the request already has one or was cancelled. */
export async function enqueueDelivery(redis: Redis, prefix: string, d: DeliveryFields): Promise<boolean> {
  const a = deliveryArgs(prefix, d);
  return Number(await runScript(redis, SCRIPTS.enqueueDelivery, a.keys.length, ...a.keys, ...a.args)) === 1;
}
