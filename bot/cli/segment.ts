/** `facechain segment <photo> --out mask.png [--garment] [--overlay overlay.png]`: person or garment mask. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { config } from '../../core/config.ts';
import { InputError } from '../../core/errors.ts';
import { FaceAnalyzer } from '../../core/face/analyzer.ts';
import { decodeAlpha, decodeImage, encodePng } from '../../core/image/codec.ts';
import { BodyModels } from '../../core/pose/body-models.ts';
import { coverage, maskToGrey } from '../../core/pose/mask-ops.ts';
import { maskOverlay } from '../../core/pose/overlay.ts';
import { findPeople } from '../../core/pose/person-mask.ts';
import { garmentMask } from '../../core/tryon/garment-mask.ts';
import { ModelStore } from '../../models/store.ts';
import { parseArgs, printError, r3, readInput, UsageError } from './body-args.ts';
import type { CliCommand } from './main.ts';

const USAGE = 'facechain segment <photo> --out mask.png [--garment] [--overlay overlay.png]';

/** Below this coverage with nobody detected, a photo has no person. */
const NO_PERSON_COVERAGE = 0.005;

export const command: CliCommand = {
  summary:
    'Write the mask of the person (or, with --garment, of the garment: cut-out alpha, product photo on a plain background, or worn by one person) as a grey PNG of the photo’s size; --overlay also writes the mask drawn on the photo. Prints {"file","out","coverage"}.',
  usage: USAGE,
  async run(argv) {
    let args: ReturnType<typeof parseArgs>;
    try {
      args = parseArgs(argv, ['--out', '--overlay'], ['--garment'], USAGE);
      if (args.files.length !== 1 || !args.values.get('--out'))
        throw new UsageError(`Give one photo and --out. usage: ${USAGE}`);
      for (const o of ['--out', '--overlay']) {
        const v = args.values.get(o);
        if (v && path.extname(v).toLowerCase() !== '.png')
          throw new UsageError(`${o} must end in .png (got "${v}"). usage: ${USAGE}`);
      }
    } catch (e) {
      return printError(e);
    }
    const [file] = args.files;
    const out = args.values.get('--out') as string;
    const garment = args.flags.has('--garment');
    const store = new ModelStore(config().modelsDir);
    let body: BodyModels | undefined;
    let faces: FaceAnalyzer | undefined;
    try {
      const bytes = await readInput(file);
      const img = await decodeImage(bytes);
      body = await BodyModels.load(store);
      let mask: import('../../core/fusion/raster.ts').Mask;
      const line: Record<string, unknown> = { file, out };
      if (garment) {
        faces = await FaceAnalyzer.load(store);
        const { alpha } = await decodeAlpha(bytes);
        const g = await garmentMask({ body, faces }, img, alpha);
        mask = g.mask;
        line.source = g.source;
      } else {
        const found = await findPeople(body, img);
        mask = found.mask;
        if (!found.coco.length && coverage(mask) < NO_PERSON_COVERAGE)
          throw new InputError('no_person', `No person was found in ${file}.`);
      }
      await writeFile(out, await encodePng(maskToGrey(mask)));
      const overlay = args.values.get('--overlay');
      if (overlay) {
        await writeFile(overlay, await encodePng(maskOverlay(img, mask)));
        line.overlay = overlay;
      }
      line.coverage = r3(coverage(mask));
      const { out: o, ...rest } = line;
      process.stdout.write(`${JSON.stringify({ file, out: o, coverage: line.coverage, ...rest })}\n`);
      return 0;
    } catch (e) {
      return printError(e, { file });
    } finally {
      await body?.dispose();
      await faces?.dispose();
    }
  },
};
