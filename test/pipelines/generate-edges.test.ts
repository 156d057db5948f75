/**
 * generate on the plain fixture model (its oracle's output is a smooth pattern, not a face):
 * the honest outcome is "no candidate had a usable face". Also progress from the denoise loop
 * and cancellation in the middle of generation.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../core/config.ts';
import { encodeSafetensors, type TensorToWrite } from '../../core/lora/safetensors.ts';
import { sd15UnetLayers } from '../../core/lora/sd15.ts';
import { writeFixtureSdModel } from '../../models/fixtures/sd.ts';
import { generateProcessor } from '../../queue/jobs/generate.ts';
import { target, until } from '../queue/helpers.ts';
import { type Harness, prepare, startHarness } from './harness.ts';

let h: Harness;
let modelDir: string;
const USER = 'tg-82';

beforeAll(async () => {
  modelDir = mkdtempSync(path.join(os.tmpdir(), 'fc-sdplain-'));
  writeFixtureSdModel(modelDir);
  process.env.FACECHAIN_SD_MODEL_DIR = modelDir;
  process.env.FACECHAIN_GENERATE_CANDIDATES = '24';
  // The threads' data dir (face-LoRA copies, merged folders) in the temp folder too.
  process.env.FACECHAIN_MODELS_DIR = config().modelsDir;
  process.env.FACECHAIN_DATA_DIR = modelDir;
  h = await startHarness({ dataDir: modelDir }, { processors: { generate: generateProcessor(modelDir) } });
  await prepare(h, USER, 'me', ['astronaut.png']);
}, 180_000);

afterAll(async () => {
  await h?.close();
  delete process.env.FACECHAIN_SD_MODEL_DIR;
  delete process.env.FACECHAIN_GENERATE_CANDIDATES;
  delete process.env.FACECHAIN_MODELS_DIR;
  delete process.env.FACECHAIN_DATA_DIR;
  rmSync(modelDir, { recursive: true, force: true });
});

const enqueue = (id: string, seed: number) =>
  h.producer.enqueue(
    'generate',
    {
      user: USER,
      target: target(USER),
      identityId: 'me',
      mode: 'zero-shot',
      style: 'film-street',
      count: 2,
      seed,
    },
    { idempotencyKey: id },
  );

describe('generate on a model that makes no faces', () => {
  it('reports per-step progress, then fails with "no candidate had a usable face" (never a fake portrait)', async () => {
    const before = h.deliverer.deliveries.length;
    await enqueue('tg-8201', 1);
    const seen: number[] = [];
    await until(
      async () => {
        const s = await h.producer.status('tg-8201');
        if (s?.stage === 'generate' && s.percent !== undefined) seen.push(s.percent);
        return h.deliverer.deliveries.length > before;
      },
      120_000,
      10,
    );
    const s = await h.producer.status('tg-8201');
    expect(s?.state).toBe('failed');
    expect(s?.attempts).toBe(1);
    const err = h.deliverer.deliveries[before].reply.error;
    expect(err?.code).toBe('no_usable_candidate');
    expect(err?.message).toMatch(/None of the 24 pictures .* had one clear face .*\(no_face\)/);
    expect(h.deliverer.deliveries[before].reply.images).toEqual([]);
    // Several distinct percentages inside the generation stage: progress comes from the steps.
    expect(new Set(seen.filter((p) => p > 10 && p < 75)).size).toBeGreaterThan(2);
  });

  it('a cancel during generation stops it within a step and delivers nothing', async () => {
    const before = h.deliverer.deliveries.length;
    await enqueue('tg-8202', 2);
    await until(
      async () => {
        const s = await h.producer.status('tg-8202');
        return s?.stage === 'generate' && (s.percent ?? 0) > 12;
      },
      60_000,
      10,
    );
    expect(await h.producer.cancel('tg-8202', USER)).toBe(true);
    await until(async () => (await h.producer.status('tg-8202'))?.state === 'cancelled', 20_000);
    const s = await h.producer.status('tg-8202');
    expect(s?.percent ?? 0).toBeLessThan(75);
    await new Promise((r) => setTimeout(r, 1000));
    expect(h.deliverer.deliveries.length).toBe(before);
  });

  it('a face LoRA that does not fit the installed base is an operator error, with no server path for the user', async () => {
    // An SD 1.5 face LoRA; this fixture UNet has no SD 1.5 attention weights to adapt.
    const t: Record<string, TensorToWrite> = {};
    for (const l of sd15UnetLayers('attention').slice(0, 2)) {
      const k = `lora_unet_${l.module.replace(/\./g, '_')}`;
      t[`${k}.lora_down.weight`] = {
        dtype: 'F32',
        shape: [4, l.inFeatures],
        data: new Float32Array(4 * l.inFeatures),
      };
      t[`${k}.lora_up.weight`] = {
        dtype: 'F32',
        shape: [l.outFeatures, 4],
        data: new Float32Array(4 * l.outFeatures),
      };
    }
    const lora = await h.producer.artifacts.put(USER, encodeSafetensors(t), { ext: 'lora' });
    const me = await h.producer.records.getIdentity(USER, 'me');
    await h.producer.records.putIdentity(USER, { ...me!, status: 'trained', lora: lora.ref });
    const before = h.deliverer.deliveries.length;
    await h.producer.enqueue(
      'generate',
      { user: USER, target: target(USER), identityId: 'me', mode: 'lora', style: 'film-street', count: 1 },
      { idempotencyKey: 'tg-8203' },
    );
    await until(() => h.deliverer.deliveries.length > before, 60_000);
    const s = await h.producer.status('tg-8203');
    expect(s?.state).toBe('failed');
    expect(s?.attempts).toBe(1);
    expect(s?.error?.code).toBe('lora_mismatch');
    const shown = h.deliverer.deliveries[before].reply.error;
    expect(shown?.code).toBe('lora_mismatch');
    expect(shown?.message).not.toContain(modelDir);
    expect(
      existsSync(path.join(modelDir, 'merged')) ? readdirSync(path.join(modelDir, 'merged')) : [],
    ).toEqual([]);
  });
});
