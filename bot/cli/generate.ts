/**
 * `facechain generate`: text-to-image / img2img / inpainting / ControlNet with a diffusers ONNX
 * model folder, from the command line (for operators checking an export on a GPU host, and for
 * trying the engine on the fixture model: `facechain generate --write-fixture <dir>`).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../base/errors.ts';
import { type ControlSpec, defaultModelDir, SdPipeline } from '../../core/diffusion/index.ts';
import { decodeImage } from '../../core/image/codec.ts';
import type { CliCommand } from './main.ts';

const USAGE =
  'facechain generate --prompt <text> [--negative <text>] [--model <dir>] [--size 512x512] [--steps N] [--cfg X] ' +
  '[--sampler name] [--seed N] [--count N] [--batch N] [--init <image> [--strength X]] [--mask <image>] ' +
  '[--control name=<image>[,scale=X][,canny]] [--variation <seed>:<strength>] --out <folder>\n       facechain generate --write-fixture <dir>';

const VALUED = new Set([
  '--prompt',
  '--negative',
  '--model',
  '--size',
  '--steps',
  '--cfg',
  '--sampler',
  '--seed',
  '--count',
  '--init',
  '--strength',
  '--mask',
  '--control',
  '--out',
  '--write-fixture',
  '--variation',
  '--batch',
]);

function parse(argv: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!VALUED.has(a)) throw new InputError('unknown_option', `Unknown option ${a}. usage: ${USAGE}`);
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new InputError('missing_value', `${a} needs a value.`);
    out.set(a, [...(out.get(a) ?? []), v]);
    i++;
  }
  return out;
}

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InputError('bad_number', `${name} must be a number (got "${v}").`);
  return n;
}

async function image(file: string) {
  return decodeImage(new Uint8Array(await readFile(file)));
}

export const command: CliCommand = {
  summary:
    'Generate images with a Stable Diffusion 1.5 ONNX export (diffusers layout). Writes PNGs and a JSON of the metadata.',
  usage: USAGE,
  async run(argv) {
    const o = parse(argv);
    const one = (k: string): string | undefined => o.get(k)?.at(-1);
    const fixtureDir = one('--write-fixture');
    if (fixtureDir) {
      // Loaded only here: fixture builders are not needed to generate with real models.
      const { writeFixtureControlNet, writeFixtureSdModel } = await import('../../models/fixtures/sd.ts');
      writeFixtureSdModel(fixtureDir, { controlnet: true });
      writeFixtureControlNet(path.join(fixtureDir, 'controlnet-canny'));
      writeFixtureControlNet(path.join(fixtureDir, 'controlnet-openpose'));
      process.stdout.write(`fixture model (oracle UNet, not a real model) written to ${fixtureDir}\n`);
      return 0;
    }
    const prompt = one('--prompt');
    const outDir = one('--out');
    if (prompt === undefined || !outDir) {
      process.stderr.write(`usage: ${USAGE}\n`);
      return 2;
    }
    const size = one('--size') ?? '512x512';
    const m = /^(\d+)x(\d+)$/.exec(size);
    if (!m) throw new InputError('bad_size', `--size must look like 512x768 (got "${size}").`);
    const controls: ControlSpec[] = [];
    for (const spec of o.get('--control') ?? []) {
      const [head, ...rest] = spec.split(',');
      const eq = head.indexOf('=');
      if (eq < 1)
        throw new InputError(
          'bad_control',
          `--control must look like canny=edges.png,scale=0.5 (got "${spec}").`,
        );
      const c: ControlSpec = { model: head.slice(0, eq), image: await image(head.slice(eq + 1)) };
      for (const r of rest) {
        if (r === 'canny') c.preprocess = 'canny';
        else if (r.startsWith('scale=')) c.scale = num(r.slice(6), 'scale');
        else throw new InputError('bad_control', `Unknown --control part "${r}" (scale=X or canny).`);
      }
      controls.push(c);
    }
    let variation: { seed: number; strength: number } | undefined;
    const v = one('--variation');
    if (v !== undefined) {
      const vm = /^(\d+):([\d.]+)$/.exec(v);
      if (!vm) throw new InputError('bad_variation', `--variation must look like 1234:0.3 (got "${v}").`);
      variation = { seed: Number(vm[1]), strength: Number(vm[2]) };
    }
    const init = one('--init');
    const mask = one('--mask');
    const pipe = SdPipeline.open(one('--model') ?? defaultModelDir());
    try {
      let last = -1;
      const r = await pipe.generate(
        {
          prompt,
          negativePrompt: one('--negative'),
          width: Number(m[1]),
          height: Number(m[2]),
          steps: num(one('--steps'), '--steps'),
          guidanceScale: num(one('--cfg'), '--cfg'),
          sampler: one('--sampler'),
          seed: num(one('--seed'), '--seed'),
          count: num(one('--count'), '--count'),
          batchSize: num(one('--batch'), '--batch'),
          initImage: init ? await image(init) : undefined,
          strength: num(one('--strength'), '--strength'),
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
