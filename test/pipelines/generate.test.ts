import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotAvailableError } from '../../base/errors.ts';
import { decodeImage } from '../../core/image/codec.ts';
import { generate, generateProcessor } from '../../queue/jobs/generate.ts';
import { target, until } from '../queue/helpers.ts';
import { writeFaceModel } from './face-model.ts';
import { type Harness, photo, prepare, startHarness } from './harness.ts';

let h: Harness;
let modelDir: string;
const USER = 'tg-81';
const OUT = new URL('../.artifacts/pipelines/', import.meta.url).pathname;

beforeAll(async () => {
  modelDir = mkdtempSync(path.join(os.tmpdir(), 'fc-sdface-'));
  // The oracle UNet ends every generation at face 1 (largest first) of sample2.jpg: a different
  // person from the user (astronaut.png), so the likeness comes from the real fusion step.
  await writeFaceModel(modelDir, 'sample2.jpg', 1);
  // Worker threads read their settings from the environment when they start.
  process.env.FACECHAIN_SD_MODEL_DIR = modelDir;
  h = await startHarness({}, { processors: { generate: generateProcessor(modelDir) } });
  await prepare(h, USER, 'me', ['astronaut.png']);
}, 180_000);

afterAll(async () => {
  await h?.close();
  delete process.env.FACECHAIN_SD_MODEL_DIR;
  rmSync(modelDir, { recursive: true, force: true });
});

async function run(id: string, data: Record<string, unknown>) {
  const before = h.deliverer.deliveries.length;
  await h.producer.enqueue(
    'generate',
    { user: USER, target: target(USER), identityId: 'me', style: 'studio-headshot', ...data } as never,
    { idempotencyKey: id },
  );
  await until(() => h.deliverer.deliveries.length > before, 120_000);
  return { status: await h.producer.status(id), delivery: h.deliverer.deliveries[before] };
}

describe('generate job (real queue, fixture SD model whose output is a real face)', () => {
  it('generates, fuses the prepared face in, ranks and delivers the top images with scores', async () => {
    const { status, delivery } = await run('tg-8101', { mode: 'zero-shot', count: 2, seed: 42 });
    expect(status?.error).toBeUndefined();
    expect(status?.state).toBe('completed');
    expect(status?.percent).toBe(100);
    const r = status?.result as { images: string[]; scores: number[] };
    expect(r.images).toHaveLength(2);
    // The generated face is someone else; after fusion it is the user (same-person cosine ≥ 0.45).
    for (const s of r.scores) expect(s).toBeGreaterThan(0.45);
    expect(r.scores[0]).toBeGreaterThanOrEqual(r.scores[1]);
    const top = await h.producer.artifacts.read(r.images[0]);
    // For a look by eye: the generated face with the user's face fused in.
    mkdirSync(OUT, { recursive: true });
    writeFileSync(path.join(OUT, 'generate-top.png'), top);
    const img = await decodeImage(top);
    expect([img.width, img.height]).toEqual([512, 512]);
    expect(delivery.reply.images).toEqual(r.images);
    expect(delivery.reply.text).toMatch(/2 portrait/);
    // No FACT in the fixture folder: a zero-shot request is style only, and the reply says so.
    expect((status?.result as { method?: string } | undefined)?.method).toBe('style-only');
    expect(delivery.reply.text).toContain('Made without a face model');
  });

  it('the same seed gives the same images (content-addressed refs are equal)', async () => {
    const a = (await run('tg-8102', { mode: 'zero-shot', count: 1, seed: 7 })).status?.result as {
      images: string[];
    };
    const b = (await run('tg-8103', { mode: 'zero-shot', count: 1, seed: 7 })).status?.result as {
      images: string[];
    };
    expect(a.images).toHaveLength(1);
    expect(b.images).toEqual(a.images);
  });

  it('zero-shot from one photo, without a prepared identity', async () => {
    const p = await h.producer.artifacts.put(USER, photo('astronaut.png'), { ext: 'png' });
    const { status } = await run('tg-8105', {
      mode: 'zero-shot',
      identityId: undefined,
      photo: p.ref,
      count: 1,
    });
    expect(status?.error).toBeUndefined();
    const r = status?.result as { images: string[]; scores: number[] };
    expect(r.images).toHaveLength(1);
    expect(r.scores[0]).toBeGreaterThan(0.45);
  });

  it('a pose image without an OpenPose ControlNet installed fails clearly, saying what to install', async () => {
    const pose = await h.producer.artifacts.put(USER, photo('astronaut.png'), { ext: 'png' });
    const { status, delivery } = await run('tg-8106', { mode: 'zero-shot', count: 1, pose: pose.ref });
    expect(status?.state).toBe('failed');
    expect(status?.attempts).toBe(1);
    expect(delivery.reply.error?.code).toBe('not_available');
    expect(JSON.stringify(status?.error)).toMatch(/controlnet-openpose\/model\.onnx/);
  });

  it('an unknown style is refused with the list of styles', async () => {
    const { status, delivery } = await run('tg-8104', { mode: 'zero-shot', style: 'no-such-style' });
    expect(status?.state).toBe('failed');
    expect(status?.attempts).toBe(1);
    expect(delivery.reply.error?.code).toBe('unknown_style');
  });

  it('without a complete model folder, generation is "not available" and says what to install', async () => {
    const spec = await generateProcessor(path.join(modelDir, 'missing'));
    expect(spec.kind).toBe('not-installed');
    // The worker answers with the job's feature and how to enable it (queue/worker.ts).
    const err = new NotAvailableError(generate.feature.name, generate.feature.howToEnable);
    expect(err.message).toMatch(/FACECHAIN_SD_MODEL_DIR.*docs\/generation\.md/);
  });
});
