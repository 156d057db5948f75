import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { CancelledError, InputError, ServiceError } from '../../base/errors.ts';
import type { JobProcessor as ProcessorFn } from '../../queue/jobs/index.ts';
import { Producer } from '../../queue/producer.ts';
import type { JobSystemOptions } from '../../queue/system.ts';
import { JobWorker, type JobWorkerOptions } from '../../queue/worker.ts';
import { gpuDouble } from './gpu-double.ts';
import { cleanup, prefixKeys, target, testOptions, until } from './helpers.ts';
import { RecordingDeliverer } from './recording-deliverer.ts';

const FACE = readFileSync(new URL('../fixtures/faces/astronaut.png', import.meta.url));

let opts: JobSystemOptions;
let producer: Producer;
let workers: JobWorker[] = [];
let deliverer: RecordingDeliverer;

async function setup(over: Partial<JobSystemOptions> = {}, w: Partial<JobWorkerOptions> = {}, failFirst = 0) {
  opts = testOptions(over);
  producer = new Producer(opts);
  deliverer = new RecordingDeliverer(failFirst);
  const worker = new JobWorker(opts, {
    queues: ['cpu', 'gpu-sd15', 'deliver'],
    deliverers: { telegram: deliverer },
    shutdownDeadlineMs: 2000,
    abortGraceMs: 1000,
    ...w,
  });
  await worker.start();
  workers.push(worker);
  return worker;
}

afterEach(async () => {
  for (const w of workers) await w.close(500);
  workers = [];
  await producer?.close();
  if (opts) await cleanup(opts);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A processor that runs in stages and honours its AbortSignal between them. */
function staged(stages: number, ms: number, calls: { n: number }): ProcessorFn {
  return (async (ctx) => {
    calls.n++;
    for (let i = 0; i < stages; i++) {
      if (ctx.signal.aborted) throw new CancelledError();
      ctx.progress(`stage-${i}`, (i / stages) * 100);
      await sleep(ms);
    }
    return { images: [], scores: [] };
  }) as ProcessorFn;
}

describe('worker', () => {
  it('analyzes a real photo in a worker thread and delivers the summary once', async () => {
    await setup();
    const photo = await producer.artifacts.put('tg-1', FACE, { ext: 'png' });
    const { id } = await producer.enqueue(
      'analyze',
      { user: 'tg-1', target: target(), photo: photo.ref, embedding: true },
      { idempotencyKey: 'tg-1001' },
    );
    await until(() => deliverer.deliveries.length === 1, 60_000);
    const s = await producer.status(id);
    expect(s?.state).toBe('completed');
    expect(s?.percent).toBe(100);
    const result = s?.result as { faces: number; report: string; summary: string };
    expect(result.faces).toBe(1);
    expect(deliverer.deliveries[0].reply.text).toMatch(/^Found 1 face/);
    const report = JSON.parse((await producer.artifacts.read(result.report)).toString());
    expect(report.faces[0].embedding).toHaveLength(512);
  });

  it('prepares an identity from real photos in a thread and records it', async () => {
    await setup();
    const a = await producer.artifacts.put('tg-1', FACE, { ext: 'png' });
    const group = await producer.artifacts.put(
      'tg-1',
      readFileSync(new URL('../fixtures/faces/sample4.jpg', import.meta.url)),
      {
        ext: 'jpg',
      },
    );
    await producer.enqueue(
      'prepare-identity',
      { user: 'tg-1', target: target(), identityId: 'me', photos: [a.ref, group.ref] },
      { idempotencyKey: 'tg-1010' },
    );
    await until(() => deliverer.deliveries.length === 1, 60_000);
    const s = await producer.status('tg-1010');
    expect(s?.state).toBe('completed');
    const r = s?.result as { accepted: string[]; rejected: { photo: string; code: string }[] };
    expect(r.accepted).toHaveLength(1);
    expect(r.rejected.map((x) => x.photo)).toEqual([group.ref]);
    const identity = await producer.records.getIdentity('tg-1', 'me');
    expect(identity?.status).toBe('prepared');
    expect(identity?.crops).toEqual(r.accepted);
    // The report's picture is its contact sheet (every photo, ticked or crossed).
    expect(deliverer.deliveries[0].reply.images).toEqual([(r as { sheet?: string }).sheet]);
  });

  it('fails bad input at once and delivers the user-facing error', async () => {
    await setup();
    const junk = await producer.artifacts.put('tg-1', Buffer.from('this is not an image'), { ext: 'jpg' });
    const { id } = await producer.enqueue(
      'analyze',
      { user: 'tg-1', target: target(), photo: junk.ref },
      { idempotencyKey: 'tg-1002' },
    );
    await until(() => deliverer.deliveries.length === 1, 30_000);
    const s = await producer.status(id);
    expect(s?.state).toBe('failed');
    expect(s?.attempts).toBe(1);
    const err = deliverer.deliveries[0].reply.error;
    expect(err?.code).toBe(s?.error?.code);
    expect(err?.code).not.toBe('internal');
  });

  it('answers "not available" for a job with no pipeline here, never a fake result', async () => {
    await setup();
    const photo = await producer.artifacts.put('tg-1', FACE, { ext: 'png' });
    const data = {
      user: 'tg-1',
      target: target(),
      mode: 'zero-shot' as const,
      photo: photo.ref,
      style: 'film',
    };
    // No worker advertises generate: refused at enqueue time, nothing waits forever.
    const err = await producer.enqueue('generate', data, { idempotencyKey: 'tg-1003' }).catch((e) => e);
    expect(err.code).toBe('not_available');
    expect(err.message).toMatch(/Portrait generation is not available on this deployment/);
    expect(await producer.status('tg-1003')).toBeUndefined();
    // A worker serving the GPU queue without the pipeline answers the same, as the delivered error.
    const lax = new Producer({ ...opts, requireWorker: false });
    await lax.enqueue('generate', data, { idempotencyKey: 'tg-1013' });
    await lax.close();
    await until(() => deliverer.deliveries.length === 1);
    expect(deliverer.deliveries[0].reply.error?.code).toBe('not_available');
    expect(deliverer.deliveries[0].reply.text).toMatch(/not available on this deployment/);
    expect((await producer.status('tg-1013'))?.attempts).toBe(1);
  });

  it('still delivers an error whose message contains a link, with the link removed', async () => {
    const linky: ProcessorFn = (async () => {
      throw new InputError(
        'bad_style',
        'Unknown style; see https://example.org/styles?token=abc for the list.',
      );
    }) as ProcessorFn;
    await setup({}, { processors: { generate: { kind: 'inline', run: linky } } });
    await producer.enqueue(
      'generate',
      { user: 'tg-1', target: target(), mode: 'lora', identityId: 'me', style: 'film' },
      { idempotencyKey: 'tg-1020' },
    );
    await until(() => deliverer.deliveries.length === 1);
    expect(deliverer.deliveries[0].reply.text).toBe('Unknown style; see <link removed> for the list.');
  });

  it('retries transient failures with backoff and delivers once', async () => {
    let n = 0;
    const flaky: ProcessorFn = (async () => {
      n++;
      if (n < 3) throw new ServiceError('gpu_busy', 'transient');
      return { images: [], scores: [] };
    }) as ProcessorFn;
    await setup({}, { processors: { generate: { kind: 'inline', run: flaky } } });
    await producer.enqueue(
      'generate',
      { user: 'tg-1', target: target(), mode: 'lora', identityId: 'me', style: 'film' },
      { idempotencyKey: 'tg-1004' },
    );
    await until(() => deliverer.deliveries.length === 1);
    await sleep(300);
    expect(n).toBe(3);
    expect(deliverer.count('tg-1004')).toBe(1);
    expect((await producer.status('tg-1004'))?.state).toBe('completed');
  });

  it('a failed upload retries only the delivery, never the work', async () => {
    const calls = { n: 0 };
    await setup({}, { processors: { generate: { kind: 'inline', run: staged(1, 1, calls) } } }, 2);
    await producer.enqueue(
      'generate',
      { user: 'tg-1', target: target(), mode: 'lora', identityId: 'me', style: 'film' },
      { idempotencyKey: 'tg-1005' },
    );
    await until(() => deliverer.deliveries.length === 1, 20_000);
    expect(deliverer.calls).toBe(3);
    expect(calls.n).toBe(1);
  });

  it('the same update id enqueued 5 times: one job, one delivery', async () => {
    const calls = { n: 0 };
    await setup({}, { processors: { generate: { kind: 'inline', run: staged(2, 20, calls) } } });
    const data = { user: 'tg-1', target: target(), mode: 'lora' as const, identityId: 'me', style: 'film' };
    const rs = [];
    for (let i = 0; i < 5; i++) {
      rs.push(await producer.enqueue('generate', data, { idempotencyKey: 'tg-5555' }));
      await sleep(i === 2 ? 300 : 5); // some while waiting, some while running or done
    }
    await until(() => deliverer.deliveries.length >= 1);
    await sleep(500);
    expect(rs.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(calls.n).toBe(1);
    expect(deliverer.count('tg-5555')).toBe(1);
  });

  it('cancels a running job between stages and delivers nothing', async () => {
    const calls = { n: 0 };
    await setup({}, { processors: { generate: { kind: 'inline', run: staged(100, 50, calls) } } });
    await producer.enqueue(
      'generate',
      { user: 'tg-1', target: target(), mode: 'lora', identityId: 'me', style: 'film' },
      { idempotencyKey: 'tg-1006' },
    );
    await until(async () => (await producer.status('tg-1006'))?.stage === 'stage-2');
    const running = await producer.status('tg-1006');
    expect(running?.state).toBe('active');
    expect(await producer.cancel('tg-1006', 'tg-1')).toBe(true);
    await until(async () => (await producer.status('tg-1006'))?.state === 'cancelled', 5000);
    await sleep(300);
    expect(deliverer.deliveries).toHaveLength(0);
    expect(calls.n).toBe(1);
  });

  it('runs a flow prepare-identity → train-lora → generate as one request with one delivery', async () => {
    const order: string[] = [];
    const step = (name: string, result: (ctx: Parameters<ProcessorFn>[0]) => unknown): ProcessorFn =>
      (async (ctx) => {
        order.push(name);
        return result(ctx);
      }) as ProcessorFn;
    let photo = '';
    await setup(
      {},
      {
        processors: {
          'prepare-identity': {
            kind: 'inline',
            run: step('prepare', () => ({
              identityId: 'me',
              accepted: [photo],
              rejected: [],
              report: photo,
            })),
          },
          // Test double for the GPU trainer: stores a "LoRA" file and returns its ref.
          'train-lora': {
            kind: 'inline',
            run: step('train', (ctx) => {
              expect((ctx.previous['prepare-identity'] as { accepted: string[] }).accepted).toEqual([photo]);
              return ctx.artifacts
                .put(ctx.data.user, Buffer.from('lora'), { ext: 'bin' })
                .then((a) => ({ identityId: 'me', lora: a.ref }));
            }),
          },
          generate: {
            kind: 'inline',
            run: step('generate', (ctx) => {
              expect(ctx.previous['train-lora']).toBeDefined();
              return { images: [photo], scores: [0.9] };
            }),
          },
        },
      },
    );
    photo = (await producer.artifacts.put('tg-1', FACE, { ext: 'png' })).ref;
    const r = await producer.enqueueFlow(
      [
        { name: 'prepare-identity', data: { identityId: 'me', photos: [photo] } },
        { name: 'train-lora', data: { identityId: 'me' } },
        { name: 'generate', data: { mode: 'lora', identityId: 'me', style: 'film' } },
      ],
      { user: 'tg-1', target: target() },
      { idempotencyKey: 'tg-2000' },
    );
    expect(r.id).toBe('tg-2000');
    await until(() => deliverer.deliveries.length === 1, 20_000);
    await sleep(300);
    expect(order).toEqual(['prepare', 'train', 'generate']);
    expect(deliverer.deliveries).toHaveLength(1);
    expect(deliverer.deliveries[0].reply.images).toEqual([photo]);
    expect((await producer.limits.pending('tg-1')).length).toBe(0);
  });

  it('a failing flow step fails the request with one error delivery', async () => {
    await setup(
      {},
      {
        processors: {
          'prepare-identity': {
            kind: 'inline',
            run: (async () => {
              throw new InputError('no_usable_photos', 'None of the photos shows one clear face.');
            }) as ProcessorFn,
          },
          // Present (so the flow is accepted) but never reached.
          'train-lora': { kind: 'inline', run: gpuDouble(1, 1) },
          generate: { kind: 'inline', run: gpuDouble(1, 1) },
        },
      },
    );
    const photo = (await producer.artifacts.put('tg-1', FACE, { ext: 'png' })).ref;
    await producer.enqueueFlow(
      [
        { name: 'prepare-identity', data: { identityId: 'me', photos: [photo] } },
        { name: 'train-lora', data: { identityId: 'me' } },
        { name: 'generate', data: { mode: 'lora', identityId: 'me', style: 'film' } },
      ],
      { user: 'tg-1', target: target() },
      { idempotencyKey: 'tg-2001' },
    );
    await until(() => deliverer.deliveries.length === 1, 20_000);
    await sleep(500);
    expect(deliverer.deliveries).toHaveLength(1);
    expect(deliverer.deliveries[0].reply.error?.code).toBe('no_usable_photos');
    await until(async () => (await producer.status('tg-2001'))?.state === 'failed');
  });

  it('forget during a running flow cancels it, removes every step and delivers nothing', async () => {
    await setup(
      {},
      {
        processors: {
          'prepare-identity': { kind: 'inline', run: gpuDouble(200, 25) },
          'train-lora': { kind: 'inline', run: gpuDouble(1, 1) },
          generate: { kind: 'inline', run: gpuDouble(1, 1) },
        },
      },
    );
    const photo = (await producer.artifacts.put('tg-1', FACE, { ext: 'png' })).ref;
    await producer.enqueueFlow(
      [
        { name: 'prepare-identity', data: { identityId: 'me', photos: [photo] } },
        { name: 'train-lora', data: { identityId: 'me' } },
        { name: 'generate', data: { mode: 'lora', identityId: 'me', style: 'film' } },
      ],
      { user: 'tg-1', target: target() },
      { idempotencyKey: 'tg-7000' },
    );
    await until(async () => (await producer.status('tg-7000'))?.stage === 'step-2');
    const receipt = await producer.forget('tg-1');
    expect(receipt.stillRunning).toBe(0);
    expect(receipt.removed.jobs).toBe(3);
    await sleep(500);
    expect(deliverer.deliveries).toHaveLength(0);
    const left = (await prefixKeys(opts.redisUrl, opts.prefix)).filter((k) => /tg-1\b|tg-7000/.test(k));
    expect(left).toEqual([]);
  });

  it('keeps each user to their running limit', async () => {
    let now = 0;
    let peak = 0;
    const slow: ProcessorFn = (async () => {
      now++;
      peak = Math.max(peak, now);
      await sleep(150);
      now--;
      return { images: [], scores: [] };
    }) as ProcessorFn;
    await setup(
      { limits: { maxPending: 10, maxRunning: 1, dailyQuota: 100 } },
      { concurrency: 3, processors: { generate: { kind: 'inline', run: slow } } },
    );
    for (let i = 0; i < 3; i++)
      await producer.enqueue(
        'generate',
        { user: 'tg-1', target: target(), mode: 'lora', identityId: 'me', style: 'film' },
        { idempotencyKey: `tg-30${i}` },
      );
    await until(() => deliverer.deliveries.length === 3, 20_000);
    expect(peak).toBe(1);
  });

  it('hands running jobs back on shutdown; another worker finishes them', async () => {
    const calls = { n: 0 };
    const w1 = await setup({}, { processors: { generate: { kind: 'inline', run: staged(40, 50, calls) } } });
    await producer.enqueue(
      'generate',
      { user: 'tg-1', target: target(), mode: 'lora', identityId: 'me', style: 'film' },
      { idempotencyKey: 'tg-4000' },
    );
    await until(async () => (await producer.status('tg-4000'))?.state === 'active');
    const t0 = Date.now();
    const { handedBack } = await w1.close(200);
    expect(handedBack).toBe(1);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect((await producer.status('tg-4000'))?.state).toBe('waiting');
    const w2 = new JobWorker(opts, {
      queues: ['gpu-sd15', 'deliver'],
      deliverers: { telegram: deliverer },
      processors: { generate: { kind: 'inline', run: staged(2, 10, calls) } },
    });
    await w2.start();
    workers.push(w2);
    await until(() => deliverer.deliveries.length === 1, 10_000);
    expect((await producer.status('tg-4000'))?.state).toBe('completed');
  });

  it('forget: waiting, running and completed jobs and files all go; the running job delivers nothing', async () => {
    const calls = { n: 0 };
    await setup(
      { limits: { maxPending: 10, maxRunning: 1, dailyQuota: 100 } },
      { processors: { generate: { kind: 'inline', run: staged(200, 25, calls) } } },
    );
    const photo = await producer.artifacts.put('tg-1', FACE, { ext: 'png' });
    const other = await producer.artifacts.put('tg-2', FACE, { ext: 'png' });
    await producer.records.setProfile('tg-1', { locale: 'en', consentVersion: '1', consentAt: Date.now() });
    await producer.records.putIdentity('tg-1', {
      id: 'me',
      status: 'prepared',
      crops: [photo.ref],
      updatedAt: 1,
    });
    // Completed: an analysis that delivered.
    await producer.enqueue(
      'analyze',
      { user: 'tg-1', target: target(), photo: photo.ref },
      { idempotencyKey: 'tg-6000' },
    );
    await until(() => deliverer.deliveries.length === 1, 60_000);
    // Running, then waiting behind it (running limit 1).
    const g = { user: 'tg-1', target: target(), mode: 'lora' as const, identityId: 'me', style: 'film' };
    await producer.enqueue('generate', g, { idempotencyKey: 'tg-6001' });
    await producer.enqueue('generate', g, { idempotencyKey: 'tg-6002' });
    await until(async () => (await producer.status('tg-6001'))?.state === 'active');
    // Another user's job must survive.
    await producer.enqueue(
      'analyze',
      { user: 'tg-2', target: target('tg-2'), photo: other.ref },
      { idempotencyKey: 'tg-6003' },
    );
    const receipt = await producer.forget('tg-1');
    expect(receipt.stillRunning).toBe(0);
    expect(receipt.removed.jobs).toBeGreaterThanOrEqual(3); // analyze, 2 generate (the delivery is done and gone)
    expect(receipt.removed.files).toBeGreaterThanOrEqual(2); // photo + analysis report
    await sleep(1500);
    expect(deliverer.deliveries.filter((d) => d.requestId !== 'tg-6003')).toHaveLength(1);
    const keys = await prefixKeys(opts.redisUrl, opts.prefix);
    const leaks = keys.filter((k) => /tg-1\b|tg-600[0-2]/.test(k));
    expect(leaks).toEqual([]);
    expect(await producer.artifacts.listUser('tg-1')).toEqual([]);
    expect(await producer.artifacts.exists(other.ref)).toBe(true);
    expect(await producer.status('tg-6003')).toBeDefined();
    // No value left in Redis mentions the user either (job hashes, events, sets).
    for (const k of keys) {
      const type = await producer.redis.type(k);
      const dump =
        type === 'string'
          ? await producer.redis.get(k)
          : type === 'hash'
            ? JSON.stringify(await producer.redis.hgetall(k))
            : type === 'stream'
              ? JSON.stringify(await producer.redis.xrange(k, '-', '+'))
              : type === 'zset'
                ? JSON.stringify(await producer.redis.zrange(k, '0', '-1'))
                : type === 'list'
                  ? JSON.stringify(await producer.redis.lrange(k, 0, -1))
                  : type === 'set'
                    ? JSON.stringify(await producer.redis.smembers(k))
                    : '';
      expect(`${k}: ${dump}`).not.toMatch(/"tg-1"|tg-600[0-2]|tg-1\//);
    }
    const again = await producer.forget('tg-1');
    expect(again.removed).toEqual({ jobs: 0, files: 0, records: 0, events: 0 });
  });
});
