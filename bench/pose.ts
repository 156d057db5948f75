/**
 * Body pose and person segmentation per photo (ONNX Runtime, converted models; see also
 * bench/pose-runtimes.ts for TensorFlow.js against ONNX Runtime),
 * and the basic try-on's time by stage. Run: node bin/run-ts.js bench/pose.ts [rounds]
 * Figures are wall-clock on this machine; other processes sharing the cores depress them.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { config } from '../core/config.ts';
import { FaceAnalyzer } from '../core/face/index.ts';
import { fusionInput, pickFace, uprightImage } from '../core/fusion/faces.ts';
import { decodeImage, type RgbImage } from '../core/image/codec.ts';
import { BodyModels } from '../core/pose/body-models.ts';
import { drawSkeleton } from '../core/pose/draw.ts';
import { findPeople } from '../core/pose/person-mask.ts';
import { poseFromPhoto } from '../core/pose/pose.ts';
import { tryOnBasic } from '../core/tryon/basic.ts';
import { garmentMask } from '../core/tryon/garment-mask.ts';
import { ModelStore } from '../models/store.ts';
import { timeRuns } from './lib/timing.ts';

const rounds = Number(process.argv[2] ?? 5);
const store = new ModelStore(config().modelsDir);
let t0 = performance.now();
const body = await BodyModels.load(store);
const loadMs = performance.now() - t0;
const analyzer = await FaceAnalyzer.load(store);

const photo = async (f: string): Promise<RgbImage> => decodeImage(readFileSync(`test/fixtures/${f}`));
const photos: [string, RgbImage][] = [
  ['messi5.jpg (548x342, 1 person)', await photo('faces/messi5.jpg')],
  ['astronaut.png (512x512, 1 person)', await photo('faces/astronaut.png')],
  ['sample4.jpg (1920x1448, 4 people)', await photo('faces/sample4.jpg')],
];

function stats(ms: number[]): string {
  const s = [...ms].sort((x, y) => x - y);
  return `median ${s[s.length >> 1].toFixed(0)} ms, min ${s[0].toFixed(0)} ms`;
}

async function time(fn: () => Promise<unknown>): Promise<string> {
  return stats(await timeRuns(fn, rounds));
}

console.log(
  `pose bench: ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? 'unknown cpu'}), node ${process.version}, ` +
    `${rounds} rounds; ONNX Runtime (FACECHAIN_ORT_THREADS=${process.env.FACECHAIN_ORT_THREADS ?? 1}); body models converted and loaded in ${loadMs.toFixed(0)} ms`,
);
for (const [name, img] of photos) {
  const people = await body.detectPeople(img);
  const boxes = people.map((p) => p.box);
  console.log(`  ${name}`);
  console.log(
    `    pose, one pass:             ${await time(() => body.detectPeople(img, { refine: false }))}`,
  );
  console.log(`    pose, refined per person:   ${await time(() => body.detectPeople(img))}`);
  console.log(`    segmentation, whole photo:  ${await time(() => body.segmentPeople(img))}`);
  console.log(`    segmentation, + per person: ${await time(() => body.segmentPeople(img, { boxes }))}`);
  console.log(`    person mask (pose + seg):   ${await time(() => findPeople(body, img))}`);
  const op = await poseFromPhoto(body, img);
  console.log(
    `    skeleton drawing:           ${await time(async () => drawSkeleton(op, img.width, img.height))}`,
  );
}
{
  const astro = photos[1][1];
  console.log(
    `  garment mask, worn (astronaut, with face landmarks): ${await time(() => garmentMask({ body, faces: analyzer }, astro, undefined))}`,
  );
}
// Basic try-on by stage: sample2.jpg's third face into the astronaut photo, studio background.
const s2 = await photo('faces/sample2.jpg');
const a = await analyzer.analyzeRgb(s2, { embedding: true });
const face = pickFace(a, 2, 'user');
const user = fusionInput(uprightImage(s2, a), face);
const garment = photos[1][1];
const stages: Record<string, number[]> = {};
let likeness = 0;
for (let i = 0; i <= rounds; i++) {
  t0 = performance.now();
  const r = await tryOnBasic(
    { body, analyzer },
    { garment, user, userEmbedding: face.embedding as Float32Array, background: 'studio' },
  );
  const total = performance.now() - t0;
  likeness = r.likeness ?? 0;
  if (i === 0) continue; // warm-up
  for (const [k, v] of Object.entries({ ...r.timings, total })) {
    stages[k] = stages[k] ?? [];
    stages[k].push(v);
  }
}
console.log(`  basic try-on (512x512, studio background), likeness ${likeness.toFixed(3)}:`);
for (const [k, v] of Object.entries(stages)) console.log(`    ${k.padEnd(11)} ${stats(v)}`);
console.log(
  `  load average at end: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (other work on the host depresses figures)`,
);
await body.dispose();
await analyzer.dispose();
