/**
 * Job-layer overhead: no-op job throughput and enqueue-to-start latency (p50/p99) through the
 * project's producer + worker (idempotency claim, limits, quota, index, cancellation checks,
 * delivery job) next to raw BullMQ (Queue.add + Worker) measured in the same run on the same
 * Redis. Targets: at least half the raw throughput, p50 latency within 2x of raw.
 *
 *   node bin/run-ts.js bench/queue.ts [jobs=2000] [latency samples=200] [producers=8]
 * Uses REDIS_URL or 127.0.0.1:6379 with a fresh key prefix, and deletes its keys afterwards.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { config } from '../core/config.ts';
import type { ProcessorFn } from '../queue/processor.ts';
import { Producer } from '../queue/producer.ts';
import type { JobSystemOptions } from '../queue/system.ts';
import { JobWorker } from '../queue/worker.ts';

const N = Number(process.argv[2] ?? 2000);
const SAMPLES = Number(process.argv[3] ?? 200);
const CONCURRENCY = 8;
const PRODUCERS = Number(process.argv[4] ?? 8);
const url = config().REDIS_URL ?? 'redis://127.0.0.1:6379';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** Run `n` adds from `PRODUCERS` concurrent loops; resolve when `done()` reports all finished. */
async function drive(
  n: number,
  add: (i: number) => Promise<unknown>,
  finished: () => number,
): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (next < n) await add(next++);
    }),
  );
  while (finished() < n) await new Promise((r) => setTimeout(r, 2));
  return (n / (performance.now() - t0)) * 1000;
}

async function latency(
  add: (i: number) => Promise<unknown>,
  started: Map<string, number>,
  id: (i: number) => string,
  /** Wait until the previous sample's work (e.g. its delivery) is done. */
  idle?: (i: number) => Promise<void>,
) {
  const out: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    if (idle) await idle(i);
    // An idle moment before each sample, so both runs measure an idle worker picking up a job.
    await new Promise((r) => setTimeout(r, 2));
    const t = performance.now();
    await add(i);
    while (!started.has(id(i))) await new Promise((r) => setImmediate(r));
    out.push((started.get(id(i)) as number) - t);
  }
  return out;
}

/** Raw BullMQ doing what the layer does per request: a job, then a follow-up delivery job. */
async function rawWithDelivery(prefix: string) {
  const conn = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue('raw2', { connection: conn, prefix });
  const dq = new Queue('raw2d', { connection: conn, prefix });
  const opts = { removeOnComplete: { age: 3600 }, removeOnFail: { age: 3600 } };
  let delivered = 0;
  const w1 = new Worker(
    'raw2',
    async (job) => {
      await dq.add('deliver', { text: 'done' }, { jobId: `d-${job.id}`, ...opts });
      return { ok: true };
    },
    { connection: conn, prefix, concurrency: CONCURRENCY },
  );
  const w2 = new Worker('raw2d', async () => void delivered++, {
    connection: conn,
    prefix,
    concurrency: CONCURRENCY,
  });
  await Promise.all([w1.waitUntilReady(), w2.waitUntilReady()]);
  const tput = await drive(
    N,
    (i) => queue.add('noop', { user: `tg-${i % 50}` }, { jobId: `r2-${i}`, ...opts }),
    () => delivered,
  );
  await w1.close();
  await w2.close();
  await queue.close();
  await dq.close();
  conn.disconnect();
  return tput;
}

async function raw(prefix: string) {
  const conn = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue('raw', { connection: conn, prefix });
  let done = 0;
  const started = new Map<string, number>();
  const worker = new Worker(
    'raw',
    async (job) => {
      started.set(job.id as string, performance.now());
      return { ok: true };
    },
    { connection: conn, prefix, concurrency: CONCURRENCY },
  );
  worker.on('completed', () => done++);
  await worker.waitUntilReady();
  const opts = { removeOnComplete: { age: 3600 }, removeOnFail: { age: 3600 } };
  const tput = await drive(
    N,
    (i) => queue.add('noop', { user: `tg-${i % 50}` }, { jobId: `r-${i}`, ...opts }),
    () => done,
  );
  const lat = await latency(
    (i) => queue.add('noop', { user: 'tg-1' }, { jobId: `rl-${i}`, ...opts }),
    started,
    (i) => `rl-${i}`,
  );
  await worker.close();
  await queue.close();
  conn.disconnect();
  return { tput, lat };
}

async function layer(prefix: string, artifactsDir: string) {
  const sys: JobSystemOptions = {
    redisUrl: url,
    prefix,
    artifactsDir,
    limits: { maxPending: 100_000, maxRunning: 1000, dailyQuota: 1_000_000 },
    attempts: 3,
    backoffMs: 1000,
    keepCompletedSeconds: 3600,
    keepFailedSeconds: 3600,
    lockDurationMs: 30_000,
    stalledIntervalMs: 30_000,
    forgetWaitMs: 1000,
  };
  const started = new Map<string, number>();
  const noop: ProcessorFn = (async (ctx) => {
    started.set(ctx.jobId, performance.now());
    return { images: [], scores: [] };
  }) as ProcessorFn;
  let delivered = 0;
  const worker = new JobWorker(sys, {
    queues: ['gpu-sd15', 'deliver'],
    concurrency: CONCURRENCY,
    processors: { generate: { kind: 'inline', run: noop } },
    deliverers: {
      telegram: {
        async deliver() {
          delivered++;
        },
      },
    },
  });
  await worker.start();
  const producer = new Producer(sys);
  const data = (i: number) => {
    const user = `tg-${i % 50}`;
    return {
      user,
      target: { platform: 'telegram' as const, chatId: user, userId: user },
      mode: 'zero-shot' as const,
      identityId: 'me',
      style: 'film',
    };
  };
  let completed = 0;
  worker.on('completed', (_id, name) => name === 'generate' && completed++);
  const tput = await drive(
    N,
    (i) => producer.enqueue('generate', data(i), { idempotencyKey: `tg-b${i}` }),
    () => completed,
  );
  const lat = await latency(
    (i) => producer.enqueue('generate', data(1), { idempotencyKey: `tg-l${i}` }),
    started,
    (i) => `tg-l${i}`,
    async (i) => {
      while (delivered < N + i) await new Promise((r) => setTimeout(r, 1));
    },
  );
  const t0 = performance.now();
  while (delivered < N + SAMPLES && performance.now() - t0 < 60_000)
    await new Promise((r) => setTimeout(r, 5));
  await worker.close(1000);
  await producer.close();
  return { tput, lat, delivered };
}

const prefix = `bench${randomUUID().slice(0, 8)}`;
const artifactsDir = mkdtempSync(path.join(os.tmpdir(), 'fc-bench-'));
try {
  console.log(
    `queue bench: ${N} no-op jobs, ${PRODUCERS} concurrent producers, worker concurrency ${CONCURRENCY}, ` +
      `${SAMPLES} latency samples; ${os.availableParallelism()} cores (shared with other work: figures may be depressed)`,
  );
  const r = await raw(prefix);
  const r2 = await rawWithDelivery(prefix);
  const l = await layer(prefix, artifactsDir);
  const row = (name: string, x: { tput: number; lat: number[] }) =>
    `${name.padEnd(22)} ${x.tput.toFixed(0).padStart(7)} jobs/s   p50 ${pct(x.lat, 50).toFixed(2).padStart(6)} ms   p99 ${pct(x.lat, 99).toFixed(2).padStart(6)} ms`;
  console.log(row('raw BullMQ', r));
  console.log(
    `${'raw BullMQ + delivery'.padEnd(22)} ${r2.toFixed(0).padStart(7)} jobs/s   (a job, then a delivery job, as the layer does)`,
  );
  console.log(row('facechain job layer', l));
  const ratio = l.tput / r.tput;
  const latRatio = pct(l.lat, 50) / pct(r.lat, 50);
  console.log(
    `throughput ratio ${ratio.toFixed(2)} (target >= 0.5: ${ratio >= 0.5 ? 'met' : 'NOT met'}); ` +
      `p50 latency ratio ${latRatio.toFixed(2)} (target <= 2: ${latRatio <= 2 ? 'met' : 'NOT met'}); ` +
      `vs raw + delivery ${(l.tput / r2).toFixed(2)}; deliveries ${l.delivered}/${N + SAMPLES}`,
  );
} finally {
  const c = new Redis(url);
  const keys: string[] = [];
  for await (const b of c.scanStream({ match: `${prefix}:*`, count: 1000 })) keys.push(...(b as string[]));
  for (let i = 0; i < keys.length; i += 500) await c.del(...keys.slice(i, i + 500));
  c.disconnect();
  rmSync(artifactsDir, { recursive: true, force: true });
}
process.exit(0);
