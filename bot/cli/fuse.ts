/** `facechain fuse <source> <target> [--face N] --out file.png`: face fusion without a generation model. */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../base/errors.ts';
import { config } from '../../core/config.ts';
import { FaceAnalyzer } from '../../core/face/analyzer.ts';
import { fusionInput, largestFace, uprightImage } from '../../core/fusion/faces.ts';
import { LandmarkFuser } from '../../core/fusion/fuser.ts';
import { decodeImage, encodeJpeg, encodePng, encodeWebp } from '../../core/image/codec.ts';
import { likenessAt } from '../../core/rank/likeness.ts';
import { templatePortrait } from '../../core/template/template.ts';
import { ModelStore } from '../../models/store.ts';
import type { CliCommand } from './main.ts';

const USAGE =
  'facechain fuse <source> <target> [--face N] [--blend feather|poisson] [--no-score] --out <file.png|.jpg|.webp>';

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--'))
    throw new InputError('missing_value', `${name} needs a value. usage: ${USAGE}`);
  return v;
}

export const command: CliCommand = {
  summary:
    "Put the largest face of <source> into <target> by landmark fusion (no generation model). --face N picks target face N counted from the left (0 = leftmost); default: the largest. Prints the fused face's likeness to the source.",
  usage: USAGE,
  async run(argv) {
    const known = new Set(['--face', '--blend', '--out']);
    const files: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      if (known.has(argv[i])) i++;
      else if (argv[i] === '--no-score') continue;
      else if (argv[i].startsWith('--'))
        throw new InputError('unknown_option', `Unknown option ${argv[i]}. usage: ${USAGE}`);
      else files.push(argv[i]);
    }
    const out = option(argv, '--out');
    if (files.length !== 2 || !out) {
      process.stderr.write(`usage: ${USAGE}\n`);
      return 2;
    }
    const faceArg = option(argv, '--face');
    const faceIndex = faceArg === undefined ? undefined : Number(faceArg);
    if (faceArg !== undefined && !/^\d+$/.test(faceArg)) {
      throw new InputError(
        'bad_face_index',
        `--face must be a whole number (0 = leftmost face), got "${faceArg}".`,
      );
    }
    const blend = option(argv, '--blend') ?? config().FACECHAIN_FUSION_BLEND;
    if (blend !== 'feather' && blend !== 'poisson') {
      throw new InputError('bad_blend', `--blend must be feather or poisson, got "${blend}".`);
    }
    const ext = path.extname(out).toLowerCase();
    if (!['.png', '.jpg', '.jpeg', '.webp'].includes(ext)) {
      throw new InputError('bad_output', `--out must end in .png, .jpg or .webp (got "${out}").`);
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
      if (!argv.includes('--no-score')) {
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
