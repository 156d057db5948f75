import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { eventLoopLag } from '../../queue/metrics.ts';
import { Producer } from '../../queue/producer.ts';
import type { JobSystemOptions } from '../../queue/system.ts';
import { JobWorker } from '../../queue/worker.ts';
import { cleanup, target, testOptions, until } from './helpers.ts';
import { RecordingDeliverer } from './recording-deliverer.ts';

const PHOTOS = ['astronaut.png', 'messi5.jpg', 'sample2.jpg', 'sample4.jpg'].map((f) =>
  readFileSync(new URL(`../fixtures/faces/${f}`, import.meta.url)),
);

let opts: JobSystemOptions;
let producer: Producer | undefined;
let worker: JobWorker | undefined;

afterEach(async () => {
  await worker?.close(1000);
  await producer?.close();
  if (opts) await cleanup(opts);
});

describe('cpu-heavy jobs', () => {
  it('100 real face analyses in worker threads: zero stalled jobs, event-loop lag printed', async () => {
    // A short lock: a blocked event loop would miss renewals (every 500 ms) and stall jobs.
    opts = testOptions({
      lockDurationMs: 1000,
      stalledIntervalMs: 500,
      limits: { maxPending: 100, maxRunning: 10, dailyQuota: 1000 },
    });
    producer = new Producer(opts);
    const deliverer = new RecordingDeliverer();
    worker = new JobWorker(opts, {
      queues: ['cpu', 'deliver'],
      concurrency: 2,
      threads: 2,
      deliverers: { telegram: deliverer },
    });
    await worker.start();
    let stalled = 0;
    worker.on('stalled', () => stalled++);
    const refs = [];
    for (let u = 0; u < 10; u++)
      for (const p of PHOTOS)
        refs.push({ user: `tg-${u}`, ref: (await producer.artifacts.put(`tg-${u}`, p, { ext: 'img' })).ref });
    eventLoopLag(true);
    const t0 = Date.now();
    for (let i = 0; i < 100; i++) {
      const { user, ref } = refs[i % refs.length];
      await producer.enqueue(
        'analyze',
        { user, target: target(user), photo: ref, embedding: true },
        { idempotencyKey: `tg-h${i}` },
      );
    }
    await until(() => deliverer.deliveries.length === 100, 240_000, 100);
    const seconds = (Date.now() - t0) / 1000;
    const lag = eventLoopLag(true);
    const failed = deliverer.deliveries.filter((d) => d.reply.error).length;
    console.log(
      `cpu-heavy: 100 analyses in ${seconds.toFixed(1)} s with 2 threads on ${(await import('node:os')).availableParallelism()} cores; ` +
        `event-loop lag max ${lag.maxMs.toFixed(1)} ms, p99 ${lag.p99Ms.toFixed(1)} ms; stalled ${stalled}; failed ${failed}`,
    );
    expect(stalled).toBe(0);
    expect(failed).toBe(0);
    expect(lag.maxMs).toBeLessThan(500);
  }, 300_000);
});
