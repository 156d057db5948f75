/**
 * `facechain generate`: text-to-image / img2img / inpainting / ControlNet with a diffusers ONNX
 * model folder, from the command line (for operators checking an export on a GPU host, and for
 * trying the engine on the fixture model: `facechain generate --write-fixture <dir>`).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type ControlSpec, defaultModelDir, SdPipeline } from '../../core/diffusion/index.ts';
import { decodeImage } from '../../core/image/codec.ts';
import { parseCommandLine, UsageError } from './args.ts';
import type { CliCommand } from './main.ts';

const USAGE =
  'facechain generate --prompt <text> [--negative <text>] [--model <dir>] [--size 512x512] [--steps N] [--cfg X] ' +
  '[--sampler name] [--seed N] [--count N] [--batch N] [--init <image> [--strength X]] [--mask <image>] ' +
  '[--control name=<image>[,scale=X][,canny]] [--variation <seed>:<strength>] --out <folder>\n       facechain generate --write-fixture <dir>';

async function image(file: string) {
  return decodeImage(new Uint8Array(await readFile(file)));
}

export const command: CliCommand = {
  summary:
    'Generate images with a Stable Diffusion 1.5 ONNX export (diffusers layout). Writes PNGs and a JSON of the metadata.',
  usage: USAGE,
  async run(argv) {
    const args = parseCommandLine(argv, {
      strings: [
        'prompt',
        'negative',
        'model',
        'size',
        'steps',
        'cfg',
        'sampler',
        'seed',
        'count',
        'init',
        'strength',
        'mask',
        'out',
        'write-fixture',
        'variation',
        'batch',
      ],
      lists: ['control'],
    });
    const one = (k: string) => args.string(k);
    const fixtureDir = one('write-fixture');
    if (fixtureDir) {
      // Loaded only here: fixture builders are not needed to generate with real models.
      const { writeFixtureControlNet, writeFixtureSdModel } = await import('../../models/fixtures/sd.ts');
      writeFixtureSdModel(fixtureDir, { controlnet: true });
      writeFixtureControlNet(path.join(fixtureDir, 'controlnet-canny'));
      writeFixtureControlNet(path.join(fixtureDir, 'controlnet-openpose'));
      process.stdout.write(`fixture model (oracle UNet, not a real model) written to ${fixtureDir}\n`);
      return 0;
    }
    const prompt = one('prompt');
    const outDir = one('out');
    if (prompt === undefined || !outDir)
      throw new UsageError(
        '--prompt and --out are required (or --write-fixture <dir> alone).',
        'missing_option',
      );
    const size = one('size') ?? '512x512';
    const m = /^(\d+)x(\d+)$/.exec(size);
    if (!m) throw new UsageError(`--size must look like 512x768 (got "${size}").`, 'bad_size');
    const steps = args.int('steps', { min: 1 });
    const guidanceScale = args.number('cfg');
    const seed = args.int('seed', { min: 0 });
    const count = args.int('count', { min: 1 });
    const batchSize = args.int('batch', { min: 1 });
    const strength = args.number('strength', { min: 0, max: 1 });
    // The whole command line is checked before any image is read.
    const controlArgs: { model: string; file: string; scale?: number; canny: boolean }[] = [];
    for (const spec of args.list('control')) {
      const [head, ...rest] = spec.split(',');
      const eq = head.indexOf('=');
      if (eq < 1)
        throw new UsageError(
          `--control must look like canny=edges.png,scale=0.5 (got "${spec}").`,
          'bad_control',
        );
      let scale: number | undefined;
      let canny = false;
      for (const r of rest) {
        const x = Number(r.slice('scale='.length));
        if (r === 'canny') canny = true;
        else if (r.startsWith('scale=') && r.length > 'scale='.length && Number.isFinite(x)) scale = x;
        else throw new UsageError(`Unknown --control part "${r}" (scale=X or canny).`, 'bad_control');
      }
      controlArgs.push({ model: head.slice(0, eq), file: head.slice(eq + 1), scale, canny });
    }
    let variation: { seed: number; strength: number } | undefined;
    const v = one('variation');
    if (v !== undefined) {
      const vm = /^(\d+):([\d.]+)$/.exec(v);
      if (!vm) throw new UsageError(`--variation must look like 1234:0.3 (got "${v}").`, 'bad_variation');
      variation = { seed: Number(vm[1]), strength: Number(vm[2]) };
    }
    const controls: ControlSpec[] = [];
    for (const c of controlArgs) {
      const spec: ControlSpec = { model: c.model, image: await image(c.file) };
      if (c.scale !== undefined) spec.scale = c.scale;
      if (c.canny) spec.preprocess = 'canny';
      controls.push(spec);
    }
    const init = one('init');
    const mask = one('mask');
    const pipe = SdPipeline.open(one('model') ?? defaultModelDir());
    try {
      let last = -1;
      const r = await pipe.generate(
        {
          prompt,
          negativePrompt: one('negative'),
          width: Number(m[1]),
          height: Number(m[2]),
          steps,
          guidanceScale,
          sampler: one('sampler'),
          seed,
          count,
          batchSize,
          initImage: init ? await image(init) : undefined,
          strength,
          mask: mask ? await image(mask) : undefined,
          controls,
          variation,
        },
        {
          onProgress: (p) => {
            const pct = Math.floor((100 * p.step) / p.total);
            if (pct !== last && pct % 10 === 0)
              process.stderr.write(`image ${p.image}/${p.count}: ${pct}%\n`);
            last = pct;
          },
        },
      );
      const { mkdir } = await import('node:fs/promises');
      await mkdir(outDir, { recursive: true });
      for (const img of r.images) {
        const file = path.join(outDir, `${img.seed}.png`);
        await writeFile(file, img.png);
        process.stdout.write(`${file}\n`);
      }
      await writeFile(path.join(outDir, 'metadata.json'), `${JSON.stringify(r.metadata, null, 2)}\n`);
      const t = r.metadata.timings;
      process.stdout.write(
        `${r.images.length} image(s), ${r.metadata.sampler} ${r.metadata.steps} steps: ${t.totalMs.toFixed(0)} ms (model ${t.modelMs.toFixed(0)} ms, own ${t.ownMs.toFixed(0)} ms)\n`,
      );
      return 0;
    } finally {
      await pipe.close();
    }
  },
};
