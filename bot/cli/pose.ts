/** `facechain pose <photo…> [--out skeleton.png]`: body keypoints (OpenPose order) per photo, and the skeleton image. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { config } from '../../core/config.ts';
import { decodeImage, encodePng } from '../../core/image/codec.ts';
import { BodyModels } from '../../core/pose/body-models.ts';
import { drawSkeleton } from '../../core/pose/draw.ts';
import type { BodyPose } from '../../core/pose/keypoints.ts';
import { poseFromPhoto } from '../../core/pose/pose.ts';
import { ModelStore } from '../../models/store.ts';
import { parseCommandLine, printError, r1, r3, readInput, UsageError } from './body-args.ts';
import type { CliCommand } from './main.ts';

const USAGE = 'facechain pose <photo…> [--out skeleton.png]';

export function poseJson(p: BodyPose): Record<string, unknown> {
  return {
    box: p.box.map(r1),
    score: r3(p.score),
    keypoints: p.keypoints.map(([x, y, s]) => [r1(x), r1(y), r3(s)]),
  };
}

/** With several photos, skeleton.png becomes skeleton-1.png, skeleton-2.png, … */
function outFor(out: string, index: number, count: number): string {
  if (count === 1) return out;
  const ext = path.extname(out);
  return `${out.slice(0, out.length - ext.length)}-${index + 1}${ext}`;
}

export const command: CliCommand = {
  summary:
    'Body keypoints of every person in each photo, 18 per person in OpenPose order ([x, y, score], score 0 = not found); --out writes the OpenPose skeleton image (the pose ControlNet input) at the photo size.',
  usage: USAGE,
  async run(argv) {
    let files: string[];
    let out: string | undefined;
    try {
      const args = parseCommandLine(argv, {
        strings: ['out'],
        positionals: { min: 1, max: Infinity, what: 'photo' },
      });
      files = args.positionals;
      out = args.string('out');
      if (out && path.extname(out).toLowerCase() !== '.png')
        throw new UsageError(`--out must end in .png (got "${out}").`, 'bad_option_value');
    } catch (e) {
      return printError(e);
    }
    let models: BodyModels;
    try {
      models = await BodyModels.load(new ModelStore(config().modelsDir));
    } catch (e) {
      return printError(e);
    }
    let failed = 0;
    try {
      for (const [i, file] of files.entries()) {
        try {
          const img = await decodeImage(await readInput(file));
          const people = await poseFromPhoto(models, img);
          const line: Record<string, unknown> = { file, people: people.map(poseJson) };
          if (out) {
            const target = outFor(out, i, files.length);
            await writeFile(target, await encodePng(drawSkeleton(people, img.width, img.height)));
            line.out = target;
          }
          process.stdout.write(`${JSON.stringify(line)}\n`);
        } catch (e) {
          failed++;
          printError(e, { file });
        }
      }
    } finally {
      await models.dispose();
    }
    return failed ? 1 : 0;
  },
};
