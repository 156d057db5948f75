/**
 * Face analysis throughput on 1920x1280 single-face JPEGs made from the fixture photos.
 * Prints photos/s, p50/p95 latency, peak RSS and, in the same run, the floor: JPEG decode plus
 * the raw model inference the pipeline performs (same number of runs per model, on prebuilt
 * tensors), so the pipeline's own overhead is visible.
 *
 * Targets (issue 2): >= 25 photos/s on 2 cores, <= 1.3x the floor, peak RSS < 500 MB.
 * Throughput uses one FaceAnalyzer per worker thread (1 ONNX thread each), as the job layer
 * runs them. Other work sharing the machine depresses the figures.
 *
 *   node bin/run-ts.js bench/face-analysis.ts [photos=120]
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { config } from '../core/config.ts';
import { FaceAnalyzer } from '../core/face/analyzer.ts';
import { FACE_MODEL_IDS } from '../core/face/models.ts';
import { decodeImage, encodeJpeg, extractRgb, flipRgb, resizeRgb } from '../core/image/codec.ts';
import { OnnxSession } from '../models/onnx.ts';
import { ModelStore } from '../models/store.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '..', 'test', 'fixtures', 'faces');
const total = Number(process.argv[2] ?? 120);
const cores = os.availableParallelism();

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function makePhotos(): Promise<Uint8Array[]> {
  const astro = await decodeImage(readFileSync(path.join(fixtures, 'astronaut.png')));
  const messi = await decodeImage(readFileSync(path.join(fixtures, 'messi5.jpg')));
  const a = await resizeRgb(extractRgb(astro, 0, 60, 512, 341), 1920, 1280);
  const m = await resizeRgb(extractRgb(messi, 0, 0, 513, 342), 1920, 1280);
  const out: Uint8Array[] = [];
  for (const img of [a, flipRgb(a), m, flipRgb(m)]) out.push(await encodeJpeg(img, { quality: 90 }));
  return out;
}

const store = new ModelStore(config().modelsDir);
const photos = await makePhotos();
console.log(`face-analysis bench: ${cores} cores (os.availableParallelism), node ${process.version}`);
console.log(
  `photos: ${photos.length} distinct 1920x1280 JPEGs (q90, ${photos.map((p) => (p.length / 1024).toFixed(0)).join('/')} KB), ${total} analyses per run`,
);

// --- Throughput: one analyzer per worker thread, photos handed out as threads free up.
const threads = Math.max(1, cores);
const boot = path.join(here, '..', 'queue', 'thread-boot.js');
const entry = pathToFileURL(path.join(here, 'face-analysis-thread.ts')).href;
const workers = await Promise.all(
  Array.from({ length: threads }, async () => {
    const w = new Worker(boot, { workerData: { entry } });
    await new Promise<void>((resolve, reject) => {
      w.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(String(m)))));
      w.once('error', reject);
    });
    return w;
  }),
);
const threadLat: number[] = [];
let next = 0;
let done = 0;
const t2 = performance.now();
await new Promise<void>((resolve, reject) => {
  for (const w of workers) {
    const feed = () => {
      if (next >= total) return;
      const id = next++;
      const bytes = photos[id % photos.length]!;
      w.postMessage({ id, bytes });
    };
    w.on('message', (m: { ms: number; faces: number }) => {
      threadLat.push(m.ms);
      if (m.faces !== 1) reject(new Error('wrong face count in thread'));
      if (++done === total) resolve();
      else feed();
    });
    w.on('error', reject);
    feed();
  }
});
const wall = performance.now() - t2;
for (const w of workers) w.postMessage('stop');
const throughputRss = process.resourceUsage().maxRSS / 1024;

// --- One analyzer on this thread: latency, and how many model runs one photo costs.
const analyzer = await FaceAnalyzer.load(store, { threads: 1 });
const runs = new Map<string, number>();
const origRun = OnnxSession.prototype.run;
OnnxSession.prototype.run = function (this: OnnxSession, ...args: Parameters<typeof origRun>) {
  runs.set(this.name, (runs.get(this.name) ?? 0) + 1);
  return origRun.apply(this, args);
};
for (const p of photos) {
  const a = await analyzer.analyze(p, { embedding: true });
  if (a.faces.length !== 1) throw new Error(`bench photo has ${a.faces.length} faces, expected 1`);
}
OnnxSession.prototype.run = origRun;
const runsPerPhoto = new Map([...runs].map(([k, v]) => [k, v / photos.length]));

const latencies: number[] = [];
const t1 = performance.now();
for (let i = 0; i < Math.min(total, 60); i++) {
  const t = performance.now();
  await analyzer.analyze(photos[i % photos.length]!, { embedding: true });
  latencies.push(performance.now() - t);
}
const oneThreadRate = (latencies.length * 1000) / (performance.now() - t1);
await analyzer.dispose();

// --- The floor: decode alone, plus each model run on a prebuilt tensor as often as the pipeline runs it.
const decodeMs: number[] = [];
for (let i = 0; i < 40; i++) {
  const t = performance.now();
  await decodeImage(photos[i % photos.length]!);
  decodeMs.push(performance.now() - t);
}
let modelMs = 0;
const perModel: string[] = [];
for (const id of FACE_MODEL_IDS) {
  const m = store.manifest(id);
  const s = await OnnxSession.create(await store.path(id), { threads: 1, name: id });
  const spec = m.inputs[0]!;
  const dims = spec.shape.map((d) => (typeof d === 'number' ? d : 1));
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1)).map(() => Math.random() * 2 - 1);
  const feed = { [spec.name]: { type: 'float32' as const, data, dims } };
  await s.run(feed);
  const n = 50;
  const t = performance.now();
  for (let i = 0; i < n; i++) await s.run(feed);
  const each = (performance.now() - t) / n;
  const count = runsPerPhoto.get(id) ?? 0;
  modelMs += each * count;
  perModel.push(`${id} ${count.toFixed(1)}x${each.toFixed(2)}ms`);
  await s.dispose();
}
const floorMs = pct(decodeMs, 50) + modelMs;

console.log('\nsingle thread (1 analyzer, 1 ONNX thread):');
console.log(
  `  latency p50 ${pct(latencies, 50).toFixed(1)} ms, p95 ${pct(latencies, 95).toFixed(1)} ms, ${oneThreadRate.toFixed(1)} photos/s`,
);
console.log(
  `  floor ${floorMs.toFixed(1)} ms = decode p50 ${pct(decodeMs, 50).toFixed(1)} ms + models ${modelMs.toFixed(1)} ms (${perModel.join(', ')})`,
);
console.log(`  pipeline / floor = ${(pct(latencies, 50) / floorMs).toFixed(2)}x (target <= 1.3x)`);

const rate = (total * 1000) / wall;
const rssMb = process.resourceUsage().maxRSS / 1024;
const floorRate = (threads * 1000) / floorMs;
console.log(`\n${threads} worker threads (1 analyzer + 1 ONNX thread each):`);
console.log(
  `  ${rate.toFixed(1)} photos/s (target >= 25 on 2 cores), latency p50 ${pct(threadLat, 50).toFixed(1)} ms, p95 ${pct(threadLat, 95).toFixed(1)} ms`,
);
console.log(
  `  floor throughput ${floorRate.toFixed(1)} photos/s (${threads} x 1000 / floor): floor / pipeline = ${(floorRate / rate).toFixed(2)}x`,
);
console.log(
  `peak RSS ${throughputRss.toFixed(0)} MB after the ${threads}-thread run (main thread + ${threads} analyzers); ${rssMb.toFixed(0)} MB at the end of the bench (target < 500 MB)`,
);
console.log(
  `load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (other work on this machine lowers these figures)`,
);
