/**
 * The GPU-host scripts (gpu/export.py, gpu/train.py) against the project's own code, without
 * torch or a GPU: byte-compilation, their Python unit tests, a manifest written by export.py
 * installed by the model store and run by the engine, a LoRA in train.py's output format passing
 * the checks the train-lora job makes, and train.py --dry-run on a dataset made by `prepare`.
 * The torch parts (export, training) are not run here (docs/gpu-host.md).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SdPipeline } from '../../core/diffusion/generate.ts';
import { SdModelFolder } from '../../core/diffusion/model-folder.ts';
import { type PhotoInput, prepareIdentity } from '../../core/identity/prepare.ts';
import { parseProgress, trainerArgs } from '../../core/identity/trainer.ts';
import { loadLora } from '../../core/lora/lora.ts';
import { matchLoras } from '../../core/lora/match.ts';
import { sd15UnetLayers } from '../../core/lora/sd15.ts';
import { UserStyleStore } from '../../core/lora/user-styles.ts';
import { writeFixtureControlNet, writeFixtureSdModel } from '../../models/fixtures/sd.ts';
import { loadManifests } from '../../models/manifest.ts';
import { OnnxSession } from '../../models/onnx.ts';
import { ModelStore } from '../../models/store.ts';
import { fixtureBytes, loadAnalyzer } from '../face/helpers.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const GPU = path.join(ROOT, 'gpu');

const PYTHON = spawnSync('python3', ['--version'], { encoding: 'utf8' }).status === 0 ? 'python3' : undefined;
if (!PYTHON)
  console.warn(
    'test/gpu: python3 is not installed, so the GPU-host script tests are skipped (apt-get install python3).',
  );

let tmp: string;

function py(args: string[], cwd = ROOT) {
  const r = spawnSync(PYTHON!, args, {
    cwd,
    encoding: 'utf8',
    // No __pycache__ folders in the repository.
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONPYCACHEPREFIX: path.join(tmp, 'pycache') },
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function pyFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? e.name === '__pycache__'
        ? []
        : pyFiles(path.join(dir, e.name))
      : e.name.endsWith('.py')
        ? [path.join(dir, e.name)]
        : [],
  );
}

/** The config files of a diffusers SD 1.5 folder: what train.py --dry-run checks before loading weights. */
function diffusersBase(dir: string): string {
  for (const sub of ['unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler'])
    mkdirSync(path.join(dir, sub), { recursive: true });
  writeFileSync(
    path.join(dir, 'model_index.json'),
    JSON.stringify({ _class_name: 'StableDiffusionPipeline' }),
  );
  writeFileSync(
    path.join(dir, 'unet/config.json'),
    JSON.stringify({ cross_attention_dim: 768, in_channels: 4 }),
  );
  writeFileSync(
    path.join(dir, 'scheduler/scheduler_config.json'),
    JSON.stringify({ _class_name: 'PNDMScheduler', prediction_type: 'epsilon' }),
  );
  return dir;
}

describe.skipIf(!PYTHON)('GPU-host scripts (gpu/)', () => {
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'fc-gpu-'));
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('byte-compile', () => {
    const files = pyFiles(GPU);
    expect(files.map((f) => path.relative(ROOT, f))).toEqual(
      expect.arrayContaining(['gpu/export.py', 'gpu/train.py', 'gpu/facechain_gpu/torch_train.py']),
    );
    const r = py(['-m', 'py_compile', ...files]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('pass their Python unit tests', () => {
    const r = py(['-m', 'unittest', 'discover', '-s', 'test/gpu', '-p', 'test_*.py']);
    const ran = /Ran (\d+) tests?/.exec(r.stderr);
    console.info(`[gpu] python unittest: ${ran?.[0]}, ${r.stderr.trim().split('\n').at(-1)}`);
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    expect(Number(ran?.[1])).toBeGreaterThanOrEqual(40);
  });

  it("export.py's manifest is accepted by the model store, and the installed folder runs in the engine", async () => {
    const exportDir = path.join(tmp, 'exports', 'sd15-gpu-fixture');
    writeFixtureSdModel(exportDir, { controlnet: true, externalData: true, scalingFactor: 0.18215 });
    writeFixtureControlNet(path.join(exportDir, 'controlnet-openpose'));
    const manifestDir = path.join(tmp, 'manifests');
    mkdirSync(manifestDir);
    const r = py([
      'gpu/export.py',
      '--manifest-only',
      exportDir,
      '--id',
      'sd15-gpu-fixture',
      '--manifest-dir',
      manifestDir,
    ]);
    expect(r.status, r.stderr).toBe(0);

    // The project's own validation (models/manifest.ts), as `facechain models` loads manifests.
    const manifests = loadManifests(manifestDir);
    const m = manifests.get('sd15-gpu-fixture')!;
    expect(m.verified).toBe(true);
    const names = m.files.map((f) => f.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'unet/model.onnx',
        'unet/weights.pb',
        'tokenizer/vocab.json',
        'controlnet-openpose/model.onnx',
      ]),
    );
    for (const f of m.files) {
      const bytes = readFileSync(path.join(exportDir, f.name));
      expect(f.size).toBe(bytes.length);
      expect(f.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(f.source).toBe(`file:${path.join(exportDir, f.name)}`);
    }
    // Inputs and outputs describe the UNet as ONNX Runtime sees it (ControlNet residuals included).
    const unet = await OnnxSession.create(path.join(exportDir, 'unet/model.onnx'), {
      name: 'unet',
      threads: 1,
    });
    expect(m.inputs.map((i) => [i.name, i.type])).toEqual(unet.inputs.map((i) => [i.name, i.type]));
    expect(m.inputs.filter((i) => i.name.includes('residual'))).toHaveLength(13);
    expect(m.outputs.map((o) => o.name)).toEqual(['out_sample']);
    await unet.dispose();

    // `facechain models fetch` copies and verifies every file; the copy is a complete model folder.
    const store = new ModelStore(path.join(tmp, 'cache'), manifests);
    const fetched = await store.fetch(['sd15-gpu-fixture']);
    expect(fetched.map((s) => s.state)).toEqual(names.map(() => 'ok'));
    const installed = store
      .filePath('sd15-gpu-fixture', 'model_index.json')
      .replace(/model_index\.json$/, '');
    expect(SdModelFolder.problem(installed)).toBeUndefined();
    const opts = { prompt: 'a portrait', width: 64, height: 64, steps: 3, seed: 7 };
    const a = SdPipeline.open(installed, { providers: ['cpu'], threads: 1 });
    const b = SdPipeline.open(exportDir, { providers: ['cpu'], threads: 1 });
    try {
      const [x, y] = [await a.generate(opts), await b.generate(opts)];
      expect(Buffer.from(x.images[0]!.png).equals(Buffer.from(y.images[0]!.png))).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }

    // A changed byte is caught by `facechain models verify`.
    const weights = store.filePath('sd15-gpu-fixture', 'unet/weights.pb');
    const buf = readFileSync(weights);
    buf[buf.length >> 1] ^= 0xff;
    writeFileSync(weights, buf);
    const status = await store.status('sd15-gpu-fixture');
    expect(status.find((s) => s.file === 'unet/weights.pb')?.state).toBe('corrupt');
  });

  it("a LoRA in train.py's output format passes the train-lora job's checks with its alpha", async () => {
    const file = path.join(tmp, 'face_lora.safetensors');
    const r = py(['write_lora.py', file], path.join(ROOT, 'test/gpu'));
    expect(r.status, r.stderr).toBe(0);
    const bytes = readFileSync(file);
    // The job's own validation (queue/jobs/train-lora.ts uses UserStyleStore.validate).
    const checked = new UserStyleStore(path.join(tmp, 'styles'), {
      maxBytes: 268435456,
      maxPerUser: 1,
      maxRank: 128,
    }).validate(bytes, 'face_lora.safetensors');
    expect(checked).toMatchObject({ rank: 4, layers: { unet: 128, textEncoder: 0 }, unmatched: [] });
    const lora = await loadLora(file, { maxBytes: 268435456 });
    expect(lora.formats).toEqual(['kohya']);
    expect(lora.modules).toHaveLength(128);
    expect(new Set(lora.modules.map((x) => x.alpha / x.rank))).toEqual(new Set([8]));
    const match = matchLoras(sd15UnetLayers('attention'), 'unet', [{ lora, multiplier: 0.95 }]);
    expect(match.matched).toHaveLength(128);
    expect(match.unmatched).toEqual([]);
    expect(match.matched[0]!.scale).toBeCloseTo(0.95 * 8, 6);
  });

  it("train.py --dry-run accepts a dataset made by `prepare`, with the worker's arguments", async () => {
    const analyzer = await loadAnalyzer();
    const data = path.join(tmp, 'prepared');
    try {
      const photos: PhotoInput[] = [{ name: 'astronaut.png', bytes: fixtureBytes('astronaut.png') }];
      const report = await prepareIdentity(analyzer, photos, data);
      expect(report.accepted).toHaveLength(1);
    } finally {
      await analyzer.dispose();
    }
    mkdirSync(path.join(tmp, 'out'));
    const output = path.join(tmp, 'out', 'face_lora.safetensors');
    const base = diffusersBase(path.join(tmp, 'film'));
    const args = trainerArgs({ dataset: data, output, steps: 800 });
    const r = py(['gpu/train.py', '--base', base, ...args, '--dry-run']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('dataset: 1 photos');
    expect(r.stdout).toContain('200 epochs x 1 photo = 200 steps');
    // Nothing it prints moves the worker's progress (trainer.ts parseProgress) ...
    for (const line of `${r.stdout}\n${r.stderr}`.split('\n'))
      expect(parseProgress(line), line).toBeUndefined();
    // ... while its progress lines do, as the fraction of steps done.
    const p = py([
      '-c',
      'import sys; sys.path.insert(0, "gpu"); from facechain_gpu.schedule import progress_line as f; print(f(50, 200, 0.1, 1e-4, 3.1))',
    ]);
    expect(p.stdout.trim()).toBe('step 50/200 loss 0.1000 lr 1.000e-04 3.10 it/s');
    expect(parseProgress(p.stdout)).toBe(0.25);
    // A caption without the trigger is refused before any GPU work.
    writeFileSync(path.join(data, 'metadata.jsonl'), '{"file_name": "0.png", "text": "a man"}\n');
    const bad = py(['gpu/train.py', '--base', base, ...args, '--dry-run']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('does not contain the trigger <fcsks>');
  });
});
