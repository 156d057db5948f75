/**
 * The delivery stream on its own (queue/delivery/): once per request, retries with backoff,
 * takeover of what a dead bot process left, refusal of what cannot be sent, forget. Real Redis;
 * the chat platform is the recording test double.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { NotAvailableError } from '../../base/errors.ts';
import { LocalArtifactStore } from '../../core/storage/artifacts.ts';
import { DeliveryConsumer } from '../../queue/delivery/consumer.ts';
import {
  DELIVERY_GROUP,
  deliveredKey,
  deliveryPayload,
  deliveryStream,
  enqueueDelivery,
} from '../../queue/delivery/entry.ts';
import { forgetDeliveries } from '../../queue/erasure.ts';
import type { JobSystemOptions } from '../../queue/system.ts';
import { keys } from '../../queue/system.ts';
import { cleanup, target, testOptions, until } from './helpers.ts';
import { RecordingDeliverer } from './recording-deliverer.ts';

let opts: JobSystemOptions;
let redis: Redis;
const consumers: DeliveryConsumer[] = [];

afterEach(async () => {
  for (const c of consumers.splice(0)) await c.close(100);
  redis?.disconnect();
  if (opts) await cleanup(opts);
});

function setup(): void {
  opts = testOptions();
  redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
}

const reply = (text: string) => ({ text, images: [] });
const payload = (user: string, requestId: string, text = 'done') =>
  deliveryPayload({
    user,
    target: target(user),
    requestId,
    source: { queue: 'cpu', id: requestId, name: 'analyze' },
    reply: reply(text),
  });

function consumer(deliverer: RecordingDeliverer | { deliver: () => Promise<void> }, over = {}) {
  const c = new DeliveryConsumer({
    redis,
    prefix: opts.prefix,
    deliverers: { telegram: deliverer as RecordingDeliverer },
    artifacts: new LocalArtifactStore(opts.artifactsDir),
    concurrency: 4,
    leaseMs: 30_000,
    backoffMs: 100,
    ...over,
  });
  consumers.push(c);
  return c;
}

describe('delivery stream', () => {
  it('queues a request once, sends it once, and leaves nothing in the stream', async () => {
    setup();
    expect(await enqueueDelivery(redis, opts.prefix, payload('tg-1', 'tg-100'))).toBe(true);
    // A retried job or a second failure path for the same request: refused.
    expect(await enqueueDelivery(redis, opts.prefix, payload('tg-1', 'tg-100', 'again'))).toBe(false);
    const d = new RecordingDeliverer();
    const delivered: string[] = [];
    await consumer(d, { onDelivered: (id: string) => delivered.push(id) }).start();
    await until(() => delivered.length === 1);
    expect(d.deliveries.map((x) => x.reply.text)).toEqual(['done']);
    await until(async () => (await redis.xlen(deliveryStream(opts.prefix))) === 0);
    expect(await redis.get(deliveredKey(opts.prefix, 'tg-1', 'tg-100'))).toBeTruthy();
  });

  it('a cancelled request is never queued, and one cancelled after queueing is not sent', async () => {
    setup();
    await redis.set(keys.tombstone(opts.prefix, 'tg-200'), '1');
    expect(await enqueueDelivery(redis, opts.prefix, payload('tg-1', 'tg-200'))).toBe(false);
    expect(await enqueueDelivery(redis, opts.prefix, payload('tg-1', 'tg-201'))).toBe(true);
    await redis.set(keys.tombstone(opts.prefix, 'tg-201'), '1');
    expect(await enqueueDelivery(redis, opts.prefix, payload('tg-1', 'tg-202'))).toBe(true);
    const d = new RecordingDeliverer();
    await consumer(d).start();
    await until(async () => (await redis.xlen(deliveryStream(opts.prefix))) === 0);
    await new Promise((r) => setTimeout(r, 200));
    expect(d.deliveries.map((x) => x.requestId)).toEqual(['tg-202']);
  });

  it('a failed upload is retried with growing waits until it goes through', async () => {
    setup();
    await enqueueDelivery(redis, opts.prefix, payload('tg-1', 'tg-300'));
    const times: number[] = [];
    const d = new RecordingDeliverer(2);
    const inner = d.deliver.bind(d);
    d.deliver = async (...a) => {
      times.push(Date.now());
      return inner(...a);
    };
    await consumer(d).start();
    await until(() => d.deliveries.length === 1);
    expect(d.calls).toBe(3);
    // Backoff 100 ms then 200 ms, each with up to half taken off as jitter.
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(45);
    expect(times[2] - times[1]).toBeGreaterThanOrEqual(95);
    await until(async () => (await redis.xlen(deliveryStream(opts.prefix))) === 0);
    const pending = (await redis.xpending(deliveryStream(opts.prefix), DELIVERY_GROUP)) as [number];
    expect(Number(pending[0])).toBe(0);
  });

  it('gives up after the last attempt, and at once on what no retry can fix', async () => {
    setup();
    await enqueueDelivery(redis, opts.prefix, payload('tg-1', 'tg-400'));
    const failed: Array<[string, string]> = [];
    const always = new RecordingDeliverer(100);
    await consumer(always, {
      maxAttempts: 3,
      onFailed: (id: string, code: string) => failed.push([id, code]),
    }).start();
    await until(() => failed.length === 1);
    expect(always.calls).toBe(3);
    expect(failed[0]).toEqual(['tg-400', 'upload_failed']);
    const refusing = {
      deliver: async () => {
        throw new NotAvailableError('Delivery to telegram', 'test');
      },
    };
    await consumers[0].close(100);
    consumers.length = 0;
    await enqueueDelivery(redis, opts.prefix, payload('tg-1', 'tg-401'));
    const failed2: string[] = [];
    await consumer(refusing, { onFailed: (_id: string, code: string) => failed2.push(code) }).start();
    await until(() => failed2.length === 1);
    expect(failed2).toEqual(['not_available']);
    await until(async () => (await redis.xlen(deliveryStream(opts.prefix))) === 0);
  });

  it('what a dead bot process had read is taken over after its lease and sent once', async () => {
    setup();
    await enqueueDelivery(redis, opts.prefix, payload('tg-1', 'tg-500'));
    // A bot process that read the entry and died before sending (never acknowledged).
    const stream = deliveryStream(opts.prefix);
    await redis.xgroup('CREATE', stream, DELIVERY_GROUP, '0', 'MKSTREAM');
    const read = (await redis.xreadgroup(
      'GROUP',
      DELIVERY_GROUP,
      'dead',
      'COUNT',
      10,
      'STREAMS',
      stream,
      '>',
    )) as [string, unknown[]][];
    expect(read[0][1]).toHaveLength(1);
    const d = new RecordingDeliverer();
    await consumer(d, { leaseMs: 600 }).start();
    await new Promise((r) => setTimeout(r, 300));
    expect(d.deliveries).toHaveLength(0); // still within the dead one's lease
    await until(() => d.deliveries.length === 1, 5000);
    await new Promise((r) => setTimeout(r, 800));
    expect(d.deliveries).toHaveLength(1);
  });

  it('a long upload keeps its lease: a second bot process does not send it again', async () => {
    setup();
    await enqueueDelivery(redis, opts.prefix, payload('tg-1', 'tg-600'));
    let sends = 0;
    const slow = {
      deliver: async () => {
        sends++;
        await new Promise((r) => setTimeout(r, 1500));
      },
    };
    await consumer(slow, { leaseMs: 400 }).start();
    await until(() => sends === 1);
    await consumer(slow, { leaseMs: 400 }).start();
    await until(async () => (await redis.xlen(deliveryStream(opts.prefix))) === 0, 5000);
    expect(sends).toBe(1);
  });

  it('forget removes only that user’s undelivered replies', async () => {
    setup();
    await enqueueDelivery(redis, opts.prefix, payload('tg-1', 'tg-700'));
    await enqueueDelivery(redis, opts.prefix, payload('tg-2', 'tg-701'));
    await enqueueDelivery(redis, opts.prefix, payload('tg-1', 'tg-702'));
    expect(await forgetDeliveries(redis, opts.prefix, 'tg-1')).toBe(2);
    const left = (await redis.xrange(deliveryStream(opts.prefix), '-', '+')) as [string, string[]][];
    expect(left).toHaveLength(1);
    expect(left[0][1]).toContain('tg-2');
    expect(JSON.stringify(left)).not.toContain('tg-1"');
  });

  it('an unreadable entry is dropped without stopping the others', async () => {
    setup();
    const stream = deliveryStream(opts.prefix);
    await redis.xadd(
      stream,
      '*',
      'id',
      'dlv-x',
      'user',
      'tg-1',
      'attempt',
      '1',
      'at',
      '0',
      'data',
      '{"nope":',
    );
    await enqueueDelivery(redis, opts.prefix, payload('tg-1', 'tg-800'));
    const d = new RecordingDeliverer();
    await consumer(d).start();
    await until(() => d.deliveries.length === 1);
    await until(async () => (await redis.xlen(stream)) === 0);
  });
});
