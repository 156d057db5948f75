/**
 * The S3 artifact store's figures: a large stream up (multipart) and down, with the peak of live
 * Buffer memory (after a full GC, sampled every 100 ms) while each runs, and small puts/reads.
 *
 *   node bin/run-ts.js bench/s3-store.ts [MB=100] [small=50]
 * The large put runs twice, with MB and 3 × MB: memory should not grow with the object.
 * With FACECHAIN_ARTIFACTS_URL set (and its AWS_* settings) it measures that bucket, under a
 * fresh prefix it deletes afterwards; else a local s3rver (the tests' S3 server, which writes to
 * a temp folder: its disk speed is most of what is measured then).
 */
import { createHash, randomUUID } from 'node:crypto';
import os from 'node:os';
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { config } from '../core/config.ts';
import { S3ArtifactStore } from '../core/storage/s3-store.ts';
import { TestS3Server } from '../test/storage/s3-server.ts';

const MB = 1024 * 1024;
const total = Number(process.argv[2] ?? 100) * MB;
const smallCount = Number(process.argv[3] ?? 50);

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

async function measure<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number; peakMb: number }> {
  gc();
  gc();
  const base = process.memoryUsage().arrayBuffers;
  let peak = 0;
  const timer = setInterval(() => {
    // Twice: the second collection finishes freeing what the first found dead.
    gc();
    gc();
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
  }, 100);
  const t0 = performance.now();
  try {
    const result = await fn();
    return { result, ms: performance.now() - t0, peakMb: peak / MB };
  } finally {
    clearInterval(timer);
  }
}

function source(bytes: number): Readable {
  let seed = 1;
  return Readable.from(
    (function* () {
      for (let off = 0; off < bytes; off += MB) {
        const c = Buffer.allocUnsafe(Math.min(MB, bytes - off));
        for (let i = 0; i + 4 <= c.length; i += 4) {
          seed = (seed * 1664525 + 1013904223) >>> 0;
          c.writeUInt32LE(seed, i);
        }
        yield c;
      }
    })(),
    { highWaterMark: 1 }, // read-ahead of one chunk, like a file stream
  );
}

const configured = config().artifactsS3;
const server = configured ? undefined : new TestS3Server();
await server?.start();
const base = configured ?? server!.settings('', { partSize: config().FACECHAIN_S3_PART_MB * MB });
const settings = { ...base, prefix: `${base.prefix}bench-${randomUUID().slice(0, 8)}/` };
const store = new S3ArtifactStore(settings);
const user = 'tg-1';
try {
  const up3 = await measure(() => store.put(user, source(3 * total), { ext: 'bin' }));
  await store.delete(up3.result.ref);
  const up = await measure(() => store.put(user, source(total), { ext: 'bin' }));
  const down = await measure(async () => {
    const h = createHash('sha256');
    for await (const c of await store.open(up.result.ref)) h.update(c as Buffer);
    return h.digest('hex');
  });
  if (!up.result.ref.includes(down.result)) throw new Error('downloaded bytes differ');
  const small = Buffer.alloc(100 * 1024, 5);
  const putMs: number[] = [];
  const readMs: number[] = [];
  for (let i = 0; i < smallCount; i++) {
    small.writeUInt32LE(i, 0);
    let t = performance.now();
    const { ref } = await store.put(user, small, { ext: 'png' });
    putMs.push(performance.now() - t);
    t = performance.now();
    await store.read(ref);
    readMs.push(performance.now() - t);
  }
  const p50 = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)].toFixed(1);
  const mbps = (ms: number) => ((total / MB) * 1000) / ms;
  console.log(
    JSON.stringify(
      {
        cores: os.availableParallelism(),
        server: configured ? 'configured bucket' : 's3rver (local, temp folder)',
        objectMb: total / MB,
        partMb: settings.partSize / MB,
        putMBps: +mbps(up.ms).toFixed(1),
        putPeakLiveBufferMb: +up.peakMb.toFixed(1),
        [`put${(3 * total) / MB}MbPeakLiveBufferMb`]: +up3.peakMb.toFixed(1),
        getMBps: +mbps(down.ms).toFixed(1),
        getPeakLiveBufferMb: +down.peakMb.toFixed(1),
        small100kbPutP50Ms: +p50(putMs),
        small100kbReadP50Ms: +p50(readMs),
      },
      null,
      1,
    ),
  );
} finally {
  await store.deleteUser(user).catch(() => {});
  await server?.stop();
}
