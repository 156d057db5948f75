/**
 * The folded round trips of the worker's hot path (queue/finish.ts, the START script's identity
 * read, the delivery's one-script check) keep every effect of the separate commands they replace.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { deliveredKey, deliveryStream, queuedKey } from '../../queue/delivery/entry.ts';
import type { JobContext as ProcessorContext, JobProcessor as ProcessorFn } from '../../queue/jobs/index.ts';
import { Producer } from '../../queue/producer.ts';
import { userKey } from '../../queue/records.ts';
import { type JobSystemOptions, keys } from '../../queue/system.ts';
import { JobWorker } from '../../queue/worker.ts';
import { cleanup, target, testOptions, until } from './helpers.ts';
import { RecordingDeliverer } from './recording-deliverer.ts';

let opts: JobSystemOptions;
let producer: Producer | undefined;
let worker: JobWorker | undefined;
let redis: Redis | undefined;

afterEach(async () => {
  await worker?.close(500);
  await producer?.close();
  redis?.disconnect();
  worker = producer = redis = undefined;
  if (opts) await cleanup(opts);
});

async function setup(run: ProcessorFn) {
  opts = testOptions();
  producer = new Producer(opts);
  redis = new Redis(opts.redisUrl);
  const deliverer = new RecordingDeliverer();
  worker = new JobWorker(opts, {
    queues: ['gpu-sd15', 'deliver'],
    deliverers: { telegram: deliverer },
    processors: { generate: { kind: 'inline', run } },
  });
  await worker.start();
  return deliverer;
}

const generate = (user: string, identityId: string, id: string) =>
  (producer as Producer).enqueue(
    'generate',
    { user, target: target(user), mode: 'zero-shot', identityId, style: 'film' },
    { idempotencyKey: id },
  );

describe('job-layer hot path', () => {
  it('gives the processor the identity record read at start, then does all the bookkeeping', async () => {
    const seen: ProcessorContext[] = [];
    const deliverer = await setup((async (ctx) => {
      seen.push(ctx);
      return { images: [], scores: [] };
    }) as ProcessorFn);
    await producer?.records.putIdentity('tg-7', {
      id: 'me',
      status: 'prepared',
      crops: ['a'.repeat(64)],
      updatedAt: 1,
    });
    await generate('tg-7', 'me', 'tg-701');
    await generate('tg-7', 'nobody', 'tg-702');
    await until(() => deliverer.deliveries.length === 2);
    const byId = Object.fromEntries(seen.map((c) => [c.jobId, c]));
    expect(byId['tg-701'].identity).toMatchObject({ id: 'me', status: 'prepared', updatedAt: 1 });
    expect(byId['tg-702'].identity).toBeUndefined();
    const r = redis as Redis;
    // Running slot and pending entries released, duration recorded, deliveries queued once and
    // acknowledged (gone from the stream).
    expect(await r.smembers(userKey(opts.prefix, 'tg-7', 'running'))).toEqual([]);
    expect(await r.smembers(userKey(opts.prefix, 'tg-7', 'pending'))).toEqual([]);
    expect(await r.llen(keys.durations(opts.prefix, 'generate'))).toBe(2);
    const index = await r.zrange(userKey(opts.prefix, 'tg-7', 'jobs'), '0', '-1');
    expect(index).toEqual(expect.arrayContaining(['gpu-sd15/tg-701', 'gpu-sd15/tg-702']));
    expect(await r.get(queuedKey(opts.prefix, 'tg-7', 'tg-701'))).toBe('dlv-tg-701');
    expect(await r.get(deliveredKey(opts.prefix, 'tg-7', 'tg-702'))).toBeTruthy();
    await until(async () => (await r.xlen(deliveryStream(opts.prefix))) === 0);
    expect(await r.get(userKey(opts.prefix, 'tg-7', 'idem', 'tg-701'))).toBe('added');
  });

  it('a corrupt identity record fails the job with an error reply and frees its running slot', async () => {
    let ran = 0;
    const deliverer = await setup((async () => {
      ran++;
      return { images: [], scores: [] };
    }) as ProcessorFn);
    await (redis as Redis).set(
      userKey(opts.prefix, 'tg-8', 'identity', 'me'),
      '{"id":"me","status":"weird"}',
    );
    await generate('tg-8', 'me', 'tg-801');
    await until(() => deliverer.deliveries.length === 1, 20_000);
    expect(ran).toBe(0);
    expect(deliverer.deliveries[0].reply.error?.code).toBeDefined();
    expect(await (redis as Redis).smembers(userKey(opts.prefix, 'tg-8', 'running'))).toEqual([]);
    expect(await (redis as Redis).smembers(userKey(opts.prefix, 'tg-8', 'pending'))).toEqual([]);
  });

  it('delivers nothing for a request whose delivery marker or tombstone is already there', async () => {
    const deliverer = await setup((async () => ({ images: [], scores: [] })) as ProcessorFn);
    const r = redis as Redis;
    // Already delivered (e.g. by an earlier deliver job of the same request).
    await r.set(userKey(opts.prefix, 'tg-9', 'delivered', 'tg-901'), 'x', 'EX', 60);
    // Cancelled after the work finished: the request's tombstone.
    await r.set(keys.tombstone(opts.prefix, 'dlv-tg-902'), '1', 'EX', 60);
    await generate('tg-9', 'me', 'tg-901');
    await generate('tg-9', 'me', 'tg-902');
    await generate('tg-9', 'me', 'tg-903');
    await until(() => deliverer.deliveries.length === 1);
    // All three entries are read, checked and acknowledged; only tg-903 is sent.
    await until(async () => (await r.xlen(deliveryStream(opts.prefix))) === 0);
    await new Promise((r) => setTimeout(r, 300));
    expect(deliverer.deliveries.map((d) => d.requestId)).toEqual(['tg-903']);
    expect(await r.get(userKey(opts.prefix, 'tg-9', 'delivered', 'tg-903'))).toBeTruthy();
  });
});
