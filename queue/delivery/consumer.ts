/**
 * Delivery, the bot process's side: a finished request's Reply goes to the bot process as a `deliver` job on a Redis
 * stream (consumer group), not as a second BullMQ job. The worker adds the entry in the same
 * script that does its finish bookkeeping, so a request costs one BullMQ job plus a stream
 * entry that bot processes read, check and acknowledge in batches (docs/jobs.md, "Delivery").
 *
 * Guarantees, as with a BullMQ deliver job:
 * - once per request: a "queued" marker (SET NX) lets only the first reply of a request in, and a
 *   "delivered" marker set with the acknowledgement stops a second send after a crash;
 * - retried on its own: a failed upload re-adds the entry with the next attempt number and a
 *   not-before time (exponential backoff), never re-running the work;
 * - nothing lost: an entry read by a bot process that dies stays in the group's pending list and
 *   is claimed by another consumer once its lease (idle time) runs out; live consumers refresh
 *   the lease of entries they hold;
 * - nothing sent for a cancelled or forgotten request: tombstones are checked just before sending.
 */

import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Redis } from 'ioredis';
import { errorInfo, isFacechainError, ServiceError } from '../../base/errors.ts';
import { log } from '../../base/log.ts';
import type { ArtifactStore } from '../../core/storage/artifacts.ts';
import type { FollowUp } from '../jobs/define.ts';
import { runScript, SCRIPTS } from '../lua/scripts.ts';
import { jobsTotal } from '../metrics.ts';
import type { Deliverers } from '../reply.ts';
import { keys } from '../system.ts';
import {
  DELIVERED_TTL_SECONDS,
  DELIVERY_ATTEMPTS,
  DELIVERY_GROUP,
  type DeliveryData,
  deliveredKey,
  deliveryStream,
  laneSetKey,
  readDelivery,
} from './entry.ts';

const logger = log('deliver');

type StreamRead = [string, [string, string[]][]][];

interface Entry {
  sid: string;
  id: string;
  user: string;
  attempt: number;
  at: number;
  raw: string;
  data?: DeliveryData;
}

export function toEntry(sid: string, fields: string[]): Entry {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
  return {
    sid,
    id: f.id ?? '',
    user: f.user ?? '',
    attempt: Number(f.attempt ?? 1) || 1,
    at: Number(f.at ?? 0) || 0,
    raw: f.data ?? '',
  };
}

export interface DeliveryConsumerOptions {
  redis: Redis;
  prefix: string;
  deliverers: Deliverers;
  artifacts: ArtifactStore;
  /** The bot lane this consumer reads (entry.ts `deliveryLane`); none: the main stream. */
  lane?: string;
  /** Deliveries sent at once. */
  concurrency: number;
  /** An entry unacknowledged this long by a consumer that no longer refreshes it is taken over. */
  leaseMs: number;
  backoffMs?: number;
  maxAttempts?: number;
  onDelivered?: (requestId: string) => void;
  onFailed?: (requestId: string, code: string) => void;
  /**
   * Starts a job the delivered reply declares (e.g. LoRA training after the photo report). Runs
   * after the reply was sent, inside this exactly-once step; its idempotency key derives from the
   * request, so a retried delivery never starts it twice. Failures are logged, not retried.
   */
  startFollowUp?: (d: DeliveryData, f: FollowUp) => Promise<void>;
}

/** Reads the delivery stream in a bot process and sends each reply through its platform's deliverer. */
export class DeliveryConsumer {
  readonly name = `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly stream: string;
  private blocking?: Redis;
  private running = false;
  private loop?: Promise<void>;
  private timer?: NodeJS.Timeout;
  /** Entries being sent, by stream id. */
  private readonly active = new Map<string, AbortController>();
  /** Entries waiting for their not-before time. */
  private readonly held = new Map<string, NodeJS.Timeout>();
  /** Entries checked and ready, waiting for a free sending slot (read ahead in batches). */
  private readonly ready: Entry[] = [];
  private slotFreed?: () => void;
  private doneBatch: Array<{ sid: string; marker?: string }> = [];
  private flushing?: Promise<void>;

  constructor(private readonly o: DeliveryConsumerOptions) {
    this.stream = deliveryStream(o.prefix, o.lane);
  }

  private async createGroup(): Promise<void> {
    await this.o.redis.xgroup('CREATE', this.stream, DELIVERY_GROUP, '0', 'MKSTREAM').catch((e: Error) => {
      if (!String(e.message).includes('BUSYGROUP')) throw e;
    });
  }

  async start(): Promise<void> {
    await this.createGroup();
    if (this.o.lane) await this.o.redis.sadd(laneSetKey(this.o.prefix), this.o.lane);
    this.blocking = this.o.redis.duplicate();
    this.blocking.on('error', () => {});
    this.running = true;
    // Leases: refresh what this process holds, take over what a dead one left.
    this.timer = setInterval(() => void this.tick(), Math.max(200, Math.floor(this.o.leaseMs / 3)));
    this.timer.unref();
    void this.tick();
    this.loop = this.readLoop();
  }

  private async readLoop(): Promise<void> {
    while (this.running) {
      // Read ahead up to four batches' worth, so one read, check and acknowledgement covers many.
      const free = this.o.concurrency * 4 - this.active.size - this.ready.length;
      if (free <= 0) {
        await new Promise<void>((r) => {
          this.slotFreed = r;
        });
        continue;
      }
      let res: StreamRead | null = null;
      try {
        res = (await this.blocking?.xreadgroup(
          'GROUP',
          DELIVERY_GROUP,
          this.name,
          'COUNT',
          free,
          'BLOCK',
          1000,
          'STREAMS',
          this.stream,
          '>',
        )) as StreamRead | null;
      } catch (e) {
        if (!this.running) return;
        // The stream was deleted (a test, an operator): make the group again.
        if (String((e as Error).message).includes('NOGROUP')) await this.createGroup().catch(() => {});
        logger.warn({ err: e }, 'reading deliveries failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (res?.[0]) await this.handle(res[0][1].map(([sid, f]) => toEntry(sid, f)));
    }
  }

  private async tick(): Promise<void> {
    if (!this.running) return;
    try {
      const mine = [...this.active.keys(), ...this.held.keys(), ...this.ready.map((e) => e.sid)];
      if (mine.length)
        await this.o.redis.xclaim(this.stream, DELIVERY_GROUP, this.name, 0, ...mine, 'JUSTID');
      const [, entries] = (await this.o.redis.xautoclaim(
        this.stream,
        DELIVERY_GROUP,
        this.name,
        this.o.leaseMs,
        '0-0',
        'COUNT',
        32,
      )) as [string, [string, string[]][]];
      const taken = entries.filter(
        (e) =>
          e?.[1] && !this.active.has(e[0]) && !this.held.has(e[0]) && !this.ready.some((r) => r.sid === e[0]),
      );
      if (taken.length) {
        logger.info({ count: taken.length }, 'took over deliveries left by a stopped bot process');
        await this.handle(taken.map(([sid, f]) => toEntry(sid, f)));
      }
    } catch (e) {
      if (this.running) logger.warn({ err: e }, 'delivery lease check failed');
    }
  }

  /** Validate, check tombstones and markers for the whole batch in one script, then send. */
  private async handle(entries: Entry[]): Promise<void> {
    const checkKeys: string[] = [];
    const valid: Entry[] = [];
    for (const e of entries) {
      try {
        e.data = readDelivery(e.raw);
      } catch (err) {
        logger.error({ err, deliveryId: e.id }, 'dropped an unreadable delivery');
        this.done(e.sid);
        continue;
      }
      const requestId = e.data.requestId ?? e.data.source.id;
      checkKeys.push(
        keys.tombstone(this.o.prefix, e.data.source.id),
        keys.tombstone(this.o.prefix, requestId),
        keys.tombstone(this.o.prefix, e.id),
        deliveredKey(this.o.prefix, e.user, requestId),
      );
      valid.push(e);
    }
    if (!valid.length) return;
    const states = (await runScript(
      this.o.redis,
      SCRIPTS.checkDeliveries,
      checkKeys.length,
      ...checkKeys,
    )) as number[];
    for (const [i, e] of valid.entries()) {
      if (states[i] !== 0) {
        jobsTotal.inc({
          queue: 'deliver',
          name: 'deliver',
          outcome: states[i] === 1 ? 'cancelled' : 'duplicate',
        });
        this.done(e.sid);
        continue;
      }
      const wait = e.at - Date.now();
      if (wait > 0) {
        this.held.set(
          e.sid,
          setTimeout(() => {
            this.held.delete(e.sid);
            if (this.running) void this.recheck(e);
          }, wait),
        );
        continue;
      }
      this.ready.push(e);
    }
    this.pump();
  }

  /** A held entry's time has come: check again (a cancel may have landed meanwhile), then send. */
  private async recheck(e: Entry): Promise<void> {
    e.at = 0;
    await this.handle([e]).catch((err) => logger.warn({ err, deliveryId: e.id }, 'delivery check failed'));
  }

  /** Start sends while there are free slots. */
  private pump(): void {
    while (this.running && this.active.size < this.o.concurrency && this.ready.length)
      void this.send(this.ready.shift() as Entry);
  }

  private async send(e: Entry): Promise<void> {
    const data = e.data as DeliveryData;
    const requestId = data.requestId ?? data.source.id;
    const controller = new AbortController();
    this.active.set(e.sid, controller);
    try {
      const deliverer = this.o.deliverers[data.target.platform];
      // Retried, not dropped: the front-end may still be starting (the consumer starts first), or
      // another bot process serves it. Entries of a bot lane only reach the process serving it.
      if (!deliverer)
        throw new ServiceError(
          'no_frontend',
          `Delivery to ${data.target.platform} waits: no ${data.target.platform} front-end is running in this process yet.`,
        );
      await deliverer.deliver(data.target, data.reply, {
        requestId,
        user: data.user,
        job: data.source.name,
        artifacts: this.o.artifacts,
        signal: controller.signal,
      });
      for (const f of data.followUps ?? [])
        await this.o
          .startFollowUp?.(data, f)
          .catch((err) =>
            logger.warn({ err, requestId, followUp: f.name }, 'could not start the follow-up job'),
          );
      this.done(e.sid, deliveredKey(this.o.prefix, e.user, requestId));
      jobsTotal.inc({ queue: 'deliver', name: 'deliver', outcome: 'completed' });
      this.o.onDelivered?.(requestId);
    } catch (err) {
      await this.failed(e, requestId, err);
    } finally {
      this.active.delete(e.sid);
      this.pump();
      this.slotFreed?.();
      this.slotFreed = undefined;
    }
  }

  private async failed(e: Entry, requestId: string, err: unknown): Promise<void> {
    const info = errorInfo(err);
    const retryable = isFacechainError(err) ? err.retryable : true;
    const max = this.o.maxAttempts ?? DELIVERY_ATTEMPTS;
    if (retryable && e.attempt < max && this.running) {
      const base = (this.o.backoffMs ?? 1000) * 2 ** (e.attempt - 1);
      const at = Date.now() + Math.round(base * (0.5 + Math.random() * 0.5));
      logger.warn(
        { deliveryId: e.id, attempt: e.attempt, code: info.code, err },
        'delivery failed, will retry',
      );
      jobsTotal.inc({ queue: 'deliver', name: 'deliver', outcome: 'retry' });
      await runScript(
        this.o.redis,
        SCRIPTS.retryDelivery,
        1,
        this.stream,
        DELIVERY_GROUP,
        e.sid,
        e.id,
        e.user,
        e.attempt + 1,
        at,
        e.raw,
      ).catch((x) => logger.error({ err: x, deliveryId: e.id }, 'could not schedule the delivery retry'));
      return;
    }
    // Out of attempts, or something a retry cannot fix: the operator hears of it, the entry goes.
    logger.error({ deliveryId: e.id, attempt: e.attempt, code: info.code, err }, 'delivery failed for good');
    jobsTotal.inc({ queue: 'deliver', name: 'deliver', outcome: 'failed' });
    this.done(e.sid);
    this.o.onFailed?.(requestId, info.code);
  }

  /** Acknowledge (and mark delivered) in batches: one script for all entries finished in one turn. */
  private done(sid: string, marker?: string): void {
    this.doneBatch.push({ sid, marker });
    if (this.doneBatch.length === 1) setImmediate(() => void this.flush());
  }

  private flush(): Promise<void> {
    const run = async () => {
      while (this.doneBatch.length) {
        const batch = this.doneBatch.splice(0, 200);
        const markers = batch.map((b) => b.marker ?? this.stream);
        await runScript(
          this.o.redis,
          SCRIPTS.doneDeliveries,
          1 + markers.length,
          this.stream,
          ...markers,
          DELIVERY_GROUP,
          DELIVERED_TTL_SECONDS,
          ...batch.map((b) => b.sid),
        ).catch((err) => {
          // Not acknowledged: the entries are taken over after their lease and checked again.
          logger.error({ err, count: batch.length }, 'could not acknowledge deliveries');
        });
      }
    };
    this.flushing = (this.flushing ?? Promise.resolve()).then(run);
    return this.flushing;
  }

  /** Undelivered entries: read but not acknowledged (being sent, or waiting to retry) and not yet read. */
  async depth(): Promise<{ waiting: number; active: number }> {
    const [len, pending] = await Promise.all([
      this.o.redis.xlen(this.stream),
      this.o.redis.xpending(this.stream, DELIVERY_GROUP).catch(() => [0]) as Promise<[number]>,
    ]);
    const p = Number(pending[0] ?? 0);
    return { waiting: Math.max(0, len - p), active: p };
  }

  get sending(): number {
    return this.active.size;
  }

  /**
   * Stop reading, let deliveries being sent finish until the deadline, abort the rest (they are
   * taken over after their lease), acknowledge what finished.
   */
  async close(deadlineMs: number): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.timer);
    this.slotFreed?.();
    for (const t of this.held.values()) clearTimeout(t);
    this.held.clear();
    this.ready.length = 0; // unsent: taken over after their lease
    this.blocking?.disconnect();
    const until = Date.now() + deadlineMs;
    while (this.active.size && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    for (const c of this.active.values()) c.abort();
    await this.loop?.catch(() => {});
    await this.flush();
    // A consumer with nothing pending can go; one with pending entries stays for the takeover.
    const pending = (await this.o.redis
      .xpending(this.stream, DELIVERY_GROUP, '-', '+', 1, this.name)
      .catch(() => [1])) as unknown[];
    if (pending.length === 0)
      await this.o.redis.xgroup('DELCONSUMER', this.stream, DELIVERY_GROUP, this.name).catch(() => {});
  }
}
