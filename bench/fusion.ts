/**
 * Face fusion time per 512×512 image (the size FaceChain generates), with the landmark fuser,
 * for both blend modes; plus the whole per-candidate post-processing step (analyse, fuse,
 * re-analyse with embedding) for context. Run: node bin/run-ts.js bench/fusion.ts [rounds]
 * Figures are wall-clock on this machine; other processes sharing the cores depress them.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { config } from '../core/config.ts';
import { FaceAnalyzer } from '../core/face/index.ts';
import { fusionInput, largestFace, pickFace, uprightImage } from '../core/fusion/faces.ts';
import { fuseByLandmarks } from '../core/fusion/fuser.ts';
import { decodeImage, extractRgb, resizeRgb } from '../core/image/codec.ts';
import { postProcess } from '../core/rank/postprocess.ts';
import { ModelStore } from '../models/store.ts';

const rounds = Number(process.argv[2] ?? 30);
const analyzer = await FaceAnalyzer.load(new ModelStore(config().modelsDir));

async function load(file: string) {
  const decoded = await decodeImage(readFileSync(`test/fixtures/faces/${file}`));
  const analysis = await analyzer.analyzeRgb(decoded, { embedding: true });
  return { image: uprightImage(decoded, analysis), analysis };
}

const src = await load('astronaut.png');
const srcFace = largestFace(src.analysis, 'source');
// A 512×512 portrait with one ~230 px face, as a generator would return.
const group = await load('sample4.jpg');
const b = pickFace(group.analysis, 3, 'group').box;
const side = Math.max(b[2] - b[0], b[3] - b[1]) * 2.2;
const candidate = await resizeRgb(
  extractRgb(group.image, (b[0] + b[2]) / 2 - side / 2, (b[1] + b[3]) / 2 - side / 2, side, side),
  512,
  512,
);
const candFace = (await analyzer.analyzeRgb(candidate, { orientation: false })).faces[0];
if (!candFace) throw new Error('no face in the benchmark candidate');

function stats(ms: number[]) {
  const s = [...ms].sort((x, y) => x - y);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return `median ${q(0.5).toFixed(1)} ms, p90 ${q(0.9).toFixed(1)} ms, min ${s[0].toFixed(1)} ms`;
}

const source = fusionInput(src.image, srcFace);
const target = fusionInput(candidate, candFace);
console.log(
  `fusion bench: ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? 'unknown cpu'}), node ${process.version}, ` +
    `${rounds} rounds, target 512x512 with a ${Math.round(candFace.size)} px face, source face ${Math.round(srcFace.size)} px`,
);
for (const blend of ['feather', 'poisson'] as const) {
  for (let i = 0; i < 3; i++) fuseByLandmarks(source, target, { blend });
  const ms: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    fuseByLandmarks(source, target, { blend });
    ms.push(performance.now() - t0);
  }
  console.log(`  fuse (${blend}): ${stats(ms)}  (single thread)`);
}
// A large group template (1920×1448): the work is bounded by the face's rectangle, plus one
// copy of the whole image.
{
  const tf = fusionInput(group.image, pickFace(group.analysis, 3, 'group'));
  for (let i = 0; i < 2; i++) fuseByLandmarks(source, tf);
  const ms: number[] = [];
  for (let i = 0; i < Math.max(5, Math.round(rounds / 3)); i++) {
    const t0 = performance.now();
    fuseByLandmarks(source, tf);
    ms.push(performance.now() - t0);
  }
  console.log(
    `  fuse (feather) into a ${group.image.width}x${group.image.height} template, ${Math.round(pickFace(group.analysis, 3, 'group').size)} px face: ${stats(ms)}`,
  );
}
const pp: number[] = [];
const ppRounds = Math.max(3, Math.round(rounds / 5));
for (let i = 0; i < ppRounds; i++) {
  const t0 = performance.now();
  await postProcess({ analyzer }, source, srcFace.embedding!, [candidate], { topN: 1 });
  pp.push(performance.now() - t0);
}
console.log(
  `  post-process per candidate (analyse + fuse + analyse with embedding): ${stats(pp)}, ${ppRounds} rounds`,
);
console.log(
  `  load average at end: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (other work on the host depresses figures)`,
);
await analyzer.dispose();
