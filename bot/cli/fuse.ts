/** `facechain fuse <source> <target> [--face N] --out file.png`: face fusion without a generation model. */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { config } from '../../core/config.ts';
import { FaceAnalyzer } from '../../core/face/analyzer.ts';
import { fusionInput, largestFace, uprightImage } from '../../core/fusion/faces.ts';
import { LandmarkFuser } from '../../core/fusion/fuser.ts';
import { decodeImage, encodeJpeg, encodePng, encodeWebp } from '../../core/image/codec.ts';
import { likenessAt } from '../../core/rank/likeness.ts';
import { templatePortrait } from '../../core/template/template.ts';
import { ModelStore } from '../../models/store.ts';
import { parseCommandLine, UsageError } from './args.ts';
import type { CliCommand } from './main.ts';

const USAGE =
  'facechain fuse <source> <target> [--face N] [--blend feather|poisson] [--no-score] --out <file.png|.jpg|.webp>';

export const command: CliCommand = {
  summary:
    "Put the largest face of <source> into <target> by landmark fusion (no generation model). --face N picks target face N counted from the left (0 = leftmost); default: the largest. Prints the fused face's likeness to the source.",
  usage: USAGE,
  async run(argv) {
    const args = parseCommandLine(argv, {
      strings: ['face', 'blend', 'out'],
      flags: ['no-score'],
      required: ['out'],
      positionals: { min: 2, max: 2, what: 'photo' },
    });
    const files = args.positionals;
    const out = args.string('out')!;
    const faceIndex = args.int('face', { min: 0 });
    const blend = args.choice('blend', ['feather', 'poisson'] as const) ?? config().FACECHAIN_FUSION_BLEND;
    const ext = path.extname(out).toLowerCase();
    if (!['.png', '.jpg', '.jpeg', '.webp'].includes(ext)) {
      throw new UsageError(`--out must end in .png, .jpg or .webp (got "${out}").`, 'bad_output');
    }
    const analyzer = await FaceAnalyzer.load(new ModelStore(config().modelsDir));
    try {
      const srcDecoded = await decodeImage(await readFile(files[0]));
      const srcAnalysis = await analyzer.analyzeRgb(srcDecoded, { embedding: true });
      const srcFace = largestFace(srcAnalysis, `source photo ${files[0]}`);
      const source = fusionInput(uprightImage(srcDecoded, srcAnalysis), srcFace);
      const target = await decodeImage(await readFile(files[1]));
      const t0 = performance.now();
      const result = await templatePortrait({ analyzer, fuser: new LandmarkFuser() }, source, target, {
        faceIndex,
        fuse: { blend },
      });
      const ms = performance.now() - t0;
      const bytes =
        ext === '.png'
          ? await encodePng(result.image)
          : ext === '.webp'
            ? await encodeWebp(result.image)
            : await encodeJpeg(result.image, { quality: 92 });
      await writeFile(out, bytes);
      const summary: Record<string, unknown> = {
        out,
        face: result.faceIndex,
        faces: result.faceCount,
        method: result.method,
        ms: Math.round(ms),
      };
      if (!args.flag('no-score')) {
        const like = await likenessAt(analyzer, result.image, result.box, srcFace.embedding!);
        summary.likeness = like.score === undefined ? null : Math.round(like.score * 1000) / 1000;
      }
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      return 0;
    } finally {
      await analyzer.dispose();
    }
  },
};
