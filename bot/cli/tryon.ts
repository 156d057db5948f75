/** `facechain tryon <user photo | prepared dir> <garment photo> --out result.png [--background …]`: the basic (CPU) try-on. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { config } from '../../core/config.ts';
import { FaceAnalyzer } from '../../core/face/analyzer.ts';
import type { RgbImage } from '../../core/image/codec.ts';
import { decodeImage, encodeJpeg, encodePng, encodeWebp } from '../../core/image/codec.ts';
import { BodyModels } from '../../core/pose/body-models.ts';
import { type BackgroundPreset, tryOnBasic } from '../../core/tryon/basic.ts';
import { loadUserFace } from '../../core/tryon/user-face.ts';
import { ModelStore } from '../../models/store.ts';
import { parseCommandLine, printError, r1, r3, readInput, UsageError } from './body-args.ts';
import type { CliCommand } from './main.ts';

const USAGE =
  'facechain tryon <user photo | prepared identity dir> <garment photo> --out result.png [--background keep|studio|gradient|<photo>] [--timings]';

export const command: CliCommand = {
  summary:
    'Try a garment on: the garment photo shows one person wearing it; the user\'s face (a photo, or a folder from `facechain prepare`) is fused in, and the background can be replaced (studio, gradient, or a photo). This is the basic try-on every machine runs (engine "basic"); the generative try-on runs as a job on GPU workers. Prints {"out","engine","likeness"}.',
  usage: USAGE,
  async run(argv) {
    let userSource: string;
    let garmentFile: string;
    let out: string;
    let bgArg: string;
    let timings: boolean;
    try {
      const args = parseCommandLine(argv, {
        strings: ['out', 'background'],
        flags: ['timings'],
        required: ['out'],
        positionals: { min: 2, max: 2, what: 'photo' },
      });
      [userSource, garmentFile] = args.positionals;
      out = args.string('out') as string;
      bgArg = args.string('background') ?? 'keep';
      timings = args.flag('timings');
      if (!['.png', '.jpg', '.jpeg', '.webp'].includes(path.extname(out).toLowerCase()))
        throw new UsageError(`--out must end in .png, .jpg or .webp (got "${out}").`, 'bad_option_value');
    } catch (e) {
      return printError(e);
    }
    const store = new ModelStore(config().modelsDir);
    let analyzer: FaceAnalyzer | undefined;
    let body: BodyModels | undefined;
    try {
      let background: BackgroundPreset = 'keep';
      let backgroundPhoto: RgbImage | undefined;
      if (['keep', 'studio', 'gradient'].includes(bgArg)) background = bgArg as BackgroundPreset;
      else {
        background = 'photo';
        backgroundPhoto = await decodeImage(await readInput(bgArg));
      }
      const garment = await decodeImage(await readInput(garmentFile));
      analyzer = await FaceAnalyzer.load(store);
      body = await BodyModels.load(store);
      const user = await loadUserFace(analyzer, userSource);
      const r = await tryOnBasic(
        { body, analyzer },
        { garment, user: user.face, userEmbedding: user.embedding, background, backgroundPhoto },
      );
      const ext = path.extname(out).toLowerCase();
      await writeFile(
        out,
        ext === '.png'
          ? await encodePng(r.image)
          : ext === '.webp'
            ? await encodeWebp(r.image)
            : await encodeJpeg(r.image, { quality: 92 }),
      );
      const line: Record<string, unknown> = {
        out,
        engine: r.engine,
        likeness: r.likeness === undefined ? null : r3(r.likeness),
      };
      if (timings) line.timings = Object.fromEntries(Object.entries(r.timings).map(([k, v]) => [k, r1(v)]));
      process.stdout.write(`${JSON.stringify(line)}\n`);
      return 0;
    } catch (e) {
      return printError(e);
    } finally {
      await body?.dispose();
      await analyzer?.dispose();
    }
  },
};
