/** `facechain segment <photo> --out mask.png [--garment] [--overlay overlay.png]`: person or garment mask. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../base/errors.ts';
import { config } from '../../core/config.ts';
import { FaceAnalyzer } from '../../core/face/analyzer.ts';
import type { Mask } from '../../core/fusion/raster.ts';
import { decodeAlpha, decodeImage, encodePng } from '../../core/image/codec.ts';
import { BodyModels } from '../../core/pose/body-models.ts';
import { coverage, maskToGrey } from '../../core/pose/mask-ops.ts';
import { maskOverlay } from '../../core/pose/overlay.ts';
import { findPeople } from '../../core/pose/person-mask.ts';
import { garmentMask } from '../../core/tryon/garment-mask.ts';
import { ModelStore } from '../../models/store.ts';
import { parseCommandLine, printError, r3, readInput, UsageError } from './body-args.ts';
import type { CliCommand } from './main.ts';

const USAGE = 'facechain segment <photo> --out mask.png [--garment] [--overlay overlay.png]';

/** Below this coverage with nobody detected, a photo has no person. */
const NO_PERSON_COVERAGE = 0.005;

export const command: CliCommand = {
  summary:
    'Write the mask of the person (or, with --garment, of the garment: cut-out alpha, product photo on a plain background, or worn by one person) as a grey PNG of the photo’s size; --overlay also writes the mask drawn on the photo. Prints {"file","out","coverage"}.',
  usage: USAGE,
  async run(argv) {
    let file: string;
    let out: string;
    let overlay: string | undefined;
    let garment: boolean;
    try {
      const args = parseCommandLine(argv, {
        strings: ['out', 'overlay'],
        flags: ['garment'],
        required: ['out'],
        positionals: { min: 1, max: 1, what: 'photo' },
      });
      [file] = args.positionals;
      out = args.string('out') as string;
      overlay = args.string('overlay');
      garment = args.flag('garment');
      for (const [o, v] of [
        ['--out', out],
        ['--overlay', overlay],
      ] as const) {
        if (v && path.extname(v).toLowerCase() !== '.png')
          throw new UsageError(`${o} must end in .png (got "${v}").`, 'bad_option_value');
      }
    } catch (e) {
      return printError(e);
    }
    const store = new ModelStore(config().modelsDir);
    let body: BodyModels | undefined;
    let faces: FaceAnalyzer | undefined;
    try {
      const bytes = await readInput(file);
      const img = await decodeImage(bytes);
      body = await BodyModels.load(store);
      let mask: Mask;
      let source: string | undefined;
      if (garment) {
        faces = await FaceAnalyzer.load(store);
        const { alpha } = await decodeAlpha(bytes);
        const g = await garmentMask({ body, faces }, img, alpha);
        mask = g.mask;
        source = g.source;
      } else {
        const found = await findPeople(body, img);
        mask = found.mask;
        if (!found.coco.length && coverage(mask) < NO_PERSON_COVERAGE)
          throw new InputError('no_person', `No person was found in ${file}.`);
      }
      await writeFile(out, await encodePng(maskToGrey(mask)));
      if (overlay) await writeFile(overlay, await encodePng(maskOverlay(img, mask)));
      const line = {
        file,
        out,
        coverage: r3(coverage(mask)),
        ...(source ? { source } : {}),
        ...(overlay ? { overlay } : {}),
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
      return 0;
    } catch (e) {
      return printError(e, { file });
    } finally {
      await body?.dispose();
      await faces?.dispose();
    }
  },
};
