/**
 * `facechain rank <template> <candidate…> [--top N] [--no-fuse] [--out-dir dir]`: FaceChain's
 * post-processing on image files (fuse the template face in, keep one-face candidates of the
 * configured size, rank by likeness).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { config } from '../../core/config.ts';
import { FaceAnalyzer } from '../../core/face/analyzer.ts';
import { fusionInput, largestFace, uprightImage } from '../../core/fusion/faces.ts';
import { decodeImage, encodePng } from '../../core/image/codec.ts';
import { postProcess } from '../../core/rank/postprocess.ts';
import { ModelStore } from '../../models/store.ts';
import { parseCommandLine } from './args.ts';
import type { CliCommand } from './main.ts';

const USAGE = 'facechain rank <template-photo> <candidate…> [--top N] [--no-fuse] [--out-dir dir]';

export const command: CliCommand = {
  summary:
    'Fuse the largest face of <template-photo> into each candidate, keep candidates with exactly one face of FACECHAIN_RANK_MIN_FACE–MAX_FACE px, rank by likeness; prints kept (with scores) and rejected (with reasons).',
  usage: USAGE,
  async run(argv) {
    const args = parseCommandLine(argv, {
      strings: ['top', 'out-dir'],
      flags: ['no-fuse'],
      positionals: { min: 2, max: Infinity, what: 'photo' },
    });
    const files = args.positionals;
    const top = args.int('top', { min: 1 }) ?? 6;
    const outDir = args.string('out-dir');
    const analyzer = await FaceAnalyzer.load(new ModelStore(config().modelsDir));
    try {
      const decoded = await decodeImage(await readFile(files[0]));
      const analysis = await analyzer.analyzeRgb(decoded, { embedding: true });
      const face = largestFace(analysis, `template photo ${files[0]}`);
      const candidates = [];
      for (const f of files.slice(1)) candidates.push(await decodeImage(await readFile(f)));
      const r = await postProcess(
        { analyzer },
        fusionInput(uprightImage(decoded, analysis), face),
        face.embedding!,
        candidates,
        { topN: top, fuse: !args.flag('no-fuse') },
      );
      const kept = [];
      for (const k of r.results) {
        const file = files[1 + k.index];
        let out: string | undefined;
        if (outDir) {
          await mkdir(outDir, { recursive: true });
          out = path.join(outDir, `${path.parse(file).name}-ranked.png`);
          await writeFile(out, await encodePng(k.image));
        }
        kept.push({
          file,
          score: Math.round(k.score * 1000) / 1000,
          faceSize: Math.round(k.faceSize),
          ...(out ? { out } : {}),
        });
      }
      const rejected = r.rejected.map((x) => ({
        file: files[1 + x.index],
        reason: x.reason,
        faces: x.faces,
        ...(x.faceSize === undefined ? {} : { faceSize: Math.round(x.faceSize) }),
      }));
      process.stdout.write(`${JSON.stringify({ kept, rejected })}\n`);
      return 0;
    } finally {
      await analyzer.dispose();
    }
  },
};
