/**
 * Job-layer overhead: no-op job throughput and enqueue-to-start latency (p50/p99) through the
 * project's producer + worker (idempotency claim, limits, quota, index, cancellation checks,
 * the reply queued on the delivery stream and sent by the bot side) next to raw BullMQ
 * (Queue.add + Worker) measured in the same run on the same Redis. Targets: at least half the raw
 * throughput, p50 latency within 2x of raw. Two more rows for context: raw BullMQ with a second
 * job per request as its delivery, and the layer's worker alone (no bot side in the process, as
 * GPU machines run it; done when the job completes).
 *
 * Each round first enqueues N requests with the workers stopped (enqueue rate), then starts the
 * workers on the full queue (processing rate; for the layer, until every delivery is done). The
 * machine may be shared, so the systems alternate rounds (median reported) and latency samples
 * are interleaved (raw, layer, raw, layer, ...).
 *
 *   node bin/run-ts.js bench/queue.ts [jobs per round=2000] [latency samples=200] [producers=8] [rounds=5]
 * Uses REDIS_URL or 127.0.0.1:6379 with a fresh key prefix, and deletes its keys afterwards.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { config } from '../core/config.ts';
import type { JobProcessor as ProcessorFn } from '../queue/jobs/index.ts';
import { Producer } from '../queue/producer.ts';
import type { JobSystemOptions } from '../queue/system.ts';
import { JobWorker } from '../queue/worker.ts';

const N = Number(process.argv[2] ?? 2000);
const SAMPLES = Number(process.argv[3] ?? 200);
const PRODUCERS = Number(process.argv[4] ?? 8);
const ROUNDS = Number(process.argv[5] ?? 5);
const CONCURRENCY = 8;
const url = config().REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `bench${randomUUID().slice(0, 8)}`;
const artifactsDir = mkdtempSync(path.join(os.tmpdir(), 'fc-bench-'));
const jobOpts = { removeOnComplete: { age: 3600 }, removeOnFail: { age: 3600 } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

interface System {
  /** Add request i (unique across the run). */
  add(i: number): Promise<unknown>;
  /** Requests fully done (for the layer: delivered). */
  done(): number;
  /** When the processor for request i started, if it has. */
  started(i: number): number | undefined;
  startWorkers(): Promise<void>;
  stopWorkers(): Promise<void>;
  close(): Promise<void>;
}

/**
 * One round: `n` adds from PRODUCERS concurrent loops with the workers stopped (enqueue rate),
 * then the workers start on the full queue (processing rate, until all are done or delivered).
 */
async function round(sys: System, from: number, n: number): Promise<{ enqueue: number; process: number }> {
  const base = sys.done();
  const t0 = performance.now();
  let next = from;
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (next < from + n) await sys.add(next++);
    }),
  );
  const enqueue = (n / (performance.now() - t0)) * 1000;
  await sys.startWorkers();
  while (sys.done() - base < n) await sleep(1);
  // From the first processor start to the last completion (delivery), so each side's worker
  // start-up (connections, scripts, the layer's event listeners) is not counted as processing.
  let first = Number.POSITIVE_INFINITY;
  for (let i = from; i < from + n; i++) first = Math.min(first, sys.started(i) ?? first);
  const processed = (n / (performance.now() - first)) * 1000;
  await sys.stopWorkers();
  return { enqueue, process: processed };
}

/** Enqueue-to-start of one request on an idle system. */
async function latencySample(sys: System, i: number): Promise<number> {
  const base = sys.done();
  await sleep(2);
  const t = performance.now();
  await sys.add(i);
  while (sys.started(i) === undefined) await new Promise((r) => setImmediate(r));
  const ms = (sys.started(i) as number) - t;
  while (sys.done() <= base) await sleep(1); // let its delivery finish before the next sample
  return ms;
}

async function rawSystem(withDelivery: boolean): Promise<System> {
  const conn = new Redis(url, { maxRetriesPerRequest: null });
  const name = withDelivery ? 'raw2' : 'raw';
  const queue = new Queue(name, { connection: conn, prefix });
  const dq = new Queue(`${name}d`, { connection: conn, prefix });
  const started = new Map<number, number>();
  let done = 0;
  let workers: Worker[] = [];
  return {
    // The plain row is the baseline (standard add, one job). With delivery: what the
    // layer did before its delivery stream, a second BullMQ job per request.
    add: (i) => queue.add('noop', { user: `tg-${i % 50}`, i }, { jobId: `r-${i}`, ...jobOpts }),
    done: () => done,
    started: (i) => started.get(i),
    async startWorkers() {
      const w1 = new Worker(
        name,
        async (job) => {
          started.set(job.data.i, performance.now());
          if (withDelivery) await dq.add('deliver', { text: 'done' }, { jobId: `d-${job.id}`, ...jobOpts });
          return { ok: true };
        },
        { connection: conn, prefix, concurrency: CONCURRENCY },
      );
      if (!withDelivery) w1.on('completed', () => done++);
      workers = [w1];
      if (withDelivery)
        workers.push(
          new Worker(`${name}d`, async () => void done++, {
            connection: conn,
            prefix,
            concurrency: CONCURRENCY,
          }),
        );
      await Promise.all(workers.map((w) => w.waitUntilReady()));
    },
    async stopWorkers() {
      for (const w of workers) await w.close();
    },
    async close() {
      await queue.close();
      await dq.close();
      conn.disconnect();
    },
  };
}

/** The layer; with `workerOnly`, a worker process without the bot side (as GPU machines run it). */
async function layerSystem(workerOnly = false): Promise<System> {
  const sys: JobSystemOptions = {
    redisUrl: url,
    // Its own prefix: the lone worker's replies stay on its own stream, unread.
    prefix: workerOnly ? `${prefix}w` : prefix,
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
  const started = new Map<number, number>();
  const noop: ProcessorFn = (async (ctx) => {
    started.set(Number(ctx.jobId.slice(4)), performance.now());
    return { images: [], scores: [] };
  }) as ProcessorFn;
  let delivered = 0;
  let worker: JobWorker | undefined;
  // The bench's workers come and go between phases, so do not require one at enqueue time.
  const producer = new Producer({ ...sys, requireWorker: false });
  return {
    add(i) {
      const user = `tg-${i % 50}`;
      const target = { platform: 'telegram' as const, chatId: user, userId: user };
      return producer.enqueue(
        'generate',
        // Zero-shot from a photo (FACT's one-photo request); naming a stored identity instead
        // adds one read of its record.
        { user, target, mode: 'zero-shot', photo: `${user}/${'0'.repeat(64)}.jpg`, style: 'film' },
        { idempotencyKey: `tg-b${i}` },
      );
    },
    done: () => delivered,
    started: (i) => started.get(i),
    async startWorkers() {
      worker = new JobWorker(sys, {
        queues: workerOnly ? ['gpu-sd15'] : ['gpu-sd15', 'deliver'],
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
      // Alone, a request is done when its job completes (its reply waits on the stream).
      if (workerOnly) worker.on('completed', () => delivered++);
      await worker.start();
    },
    async stopWorkers() {
      await worker?.close(1000);
    },
    async close() {
      await producer.close();
    },
  };
}

try {
  console.log(
    `queue bench: ${ROUNDS} rounds of ${N} no-op jobs, ${PRODUCERS} concurrent producers, worker concurrency ` +
      `${CONCURRENCY}, ${SAMPLES} interleaved latency samples; ${os.availableParallelism()} cores ` +
      `(load average ${os.loadavg()[0].toFixed(1)}: shared with other work, figures may be depressed)`,
  );
  const raw = await rawSystem(false);
  const raw2 = await rawSystem(true);
  const layer = await layerSystem();
  const alone = await layerSystem(true);
  type Rounds = Array<{ enqueue: number; process: number }>;
  const res: { raw: Rounds; raw2: Rounds; layer: Rounds; alone: Rounds } = {
    raw: [],
    raw2: [],
    layer: [],
    alone: [],
  };
  let i = 0;
  for (let r = 0; r < ROUNDS; r++) {
    res.raw.push(await round(raw, i, N));
    res.raw2.push(await round(raw2, i, N));
    res.layer.push(await round(layer, i, N));
    i += N;
    res.alone.push(await round(alone, i, N));
    i += N;
  }
  await raw.startWorkers();
  await layer.startWorkers();
  const lat = { raw: [] as number[], layer: [] as number[] };
  for (let s = 0; s < SAMPLES; s++, i++) {
    lat.raw.push(await latencySample(raw, i));
    lat.layer.push(await latencySample(layer, i));
  }
  await raw.stopWorkers();
  await layer.stopWorkers();
  await raw.close();
  await raw2.close();
  await layer.close();
  await alone.close();
  const med = (xs: number[]) => pct(xs, 50);
  const enq = (k: keyof typeof res) => med(res[k].map((r) => r.enqueue));
  const proc = (k: keyof typeof res) => med(res[k].map((r) => r.process));
  const row = (name: string, k: keyof typeof res, l?: number[]) =>
    `${name.padEnd(26)} enqueue ${enq(k).toFixed(0).padStart(5)}/s  process ${proc(k).toFixed(0).padStart(5)}/s` +
    (l ? `  enqueue-to-start p50 ${pct(l, 50).toFixed(2)} ms, p99 ${pct(l, 99).toFixed(2)} ms` : '');
  console.log(row('raw BullMQ', 'raw', lat.raw));
  console.log(row('raw BullMQ + delivery job', 'raw2'));
  console.log(row('facechain job layer', 'layer', lat.layer));
  console.log(row('layer, worker alone', 'alone'));
  const latRatio = pct(lat.layer, 50) / pct(lat.raw, 50);
  const p = proc('layer') / proc('raw');
  console.log(
    `processing throughput layer/raw ${p.toFixed(2)} (target >= 0.5: ${p >= 0.5 ? 'met' : 'NOT met'}; ` +
      `layer/(raw + delivery) ${(proc('layer') / proc('raw2')).toFixed(2)}); ` +
      `worker alone/raw ${(proc('alone') / proc('raw')).toFixed(2)}; ` +
      `enqueue rate layer/raw ${(enq('layer') / enq('raw')).toFixed(2)}; ` +
      `p50 latency layer/raw ${latRatio.toFixed(2)} (target <= 2: ${latRatio <= 2 ? 'met' : 'NOT met'})`,
  );
} finally {
  const c = new Redis(url);
  const keys: string[] = [];
  for await (const b of c.scanStream({ match: `${prefix}*`, count: 1000 })) keys.push(...(b as string[]));
  for (let k = 0; k < keys.length; k += 500) await c.del(...keys.slice(k, k + 500));
  c.disconnect();
  rmSync(artifactsDir, { recursive: true, force: true });
}
process.exit(0);
