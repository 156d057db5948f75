/**
 * train-lora through the real queue with a test-double trainer (the GPU trainer is the outside
 * world): dataset handed over, progress parsed, output validated and stored, identity record
 * updated; failures, bad output, deadline and cancel.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../core/config.ts';
import { parseProgress, splitCommand } from '../../core/identity/trainer.ts';
import { loraFromSafetensors } from '../../core/lora/lora.ts';
import { parseSafetensors } from '../../core/lora/safetensors.ts';
import { generateProcessor } from '../../queue/jobs/generate.ts';
import { trainerProcessor as trainLoraProcessor } from '../../queue/jobs/train-lora.ts';
import { target, until } from '../queue/helpers.ts';
import { writeFaceModel } from './face-model.ts';
import { type Harness, prepare, startHarness } from './harness.ts';

let h: Harness;
let dataDir: string;
let modelDir: string;
const USER = 'tg-95';
const root = fileURLToPath(new URL('../../', import.meta.url));
const CMD = `${process.execPath} "${root}bin/run-ts.js" "${root}test/pipelines/fake-trainer.ts"`;

beforeAll(async () => {
  process.env.FACECHAIN_TRAINER_CMD = CMD;
  process.env.FACECHAIN_TRAINER_TIMEOUT_S = '5';
  process.env.TELEGRAM_BOT_TOKEN_FOR_TEST = 'must-not-reach-the-trainer';
  // Generation on the plain fixture model, with the threads' data dir in a temp folder.
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'fc-data-'));
  modelDir = path.join(dataDir, 'sd');
  await writeFaceModel(modelDir, 'sample2.jpg', 1, { loraProbe: 0.1 });
  process.env.FACECHAIN_MODELS_DIR = config().modelsDir;
  process.env.FACECHAIN_DATA_DIR = dataDir;
  process.env.FACECHAIN_SD_MODEL_DIR = modelDir;
  h = await startHarness(
    { dataDir },
    { processors: { 'train-lora': trainLoraProcessor(CMD), generate: generateProcessor(modelDir) } },
  );
  await prepare(h, USER, 'me', ['astronaut.png']);
}, 180_000);

afterAll(async () => {
  await h?.close();
  delete process.env.FACECHAIN_TRAINER_CMD;
  delete process.env.FACECHAIN_TRAINER_TIMEOUT_S;
  delete process.env.TELEGRAM_BOT_TOKEN_FOR_TEST;
  delete process.env.FACECHAIN_MODELS_DIR;
  delete process.env.FACECHAIN_DATA_DIR;
  delete process.env.FACECHAIN_SD_MODEL_DIR;
  rmSync(dataDir, { recursive: true, force: true });
});

async function train(id: string, steps: number) {
  const before = h.deliverer.deliveries.length;
  await h.producer.enqueue(
    'train-lora',
    { user: USER, target: target(USER), identityId: 'me', steps },
    { idempotencyKey: id },
  );
  await until(() => h.deliverer.deliveries.length > before, 60_000);
  return { status: await h.producer.status(id), delivery: h.deliverer.deliveries[before] };
}

describe('train-lora', () => {
  it('command lines split without a shell; progress from tqdm-style lines', () => {
    expect(splitCommand(`python3 "/opt/my trainer/train.py" --flag 'a b' x`)).toEqual([
      'python3',
      '/opt/my trainer/train.py',
      '--flag',
      'a b',
      'x',
    ]);
    expect(parseProgress(' 40%|████      | 320/800 [01:02<02:00]')).toBeCloseTo(0.4);
    expect(parseProgress('loading model')).toBeUndefined();
    expect(trainLoraProcessor('').kind).toBe('not-installed');
  });

  it('trains, validates and stores the LoRA, and marks the identity trained', async () => {
    const { status, delivery } = await train('tg-9501', 400);
    expect(status?.error).toBeUndefined();
    expect(status?.state).toBe('completed');
    const r = status?.result as { identityId: string; lora: string };
    expect(r.lora.startsWith(`${USER}/`)).toBe(true);
    const lora = loraFromSafetensors(parseSafetensors(await h.producer.artifacts.read(r.lora)), 'face');
    expect(lora.modules.length).toBeGreaterThan(0);
    const identity = await h.producer.records.getIdentity(USER, 'me');
    expect(identity?.status).toBe('trained');
    expect(identity?.lora).toBe(r.lora);
    expect(identity?.crops.length).toBeGreaterThan(0);
    expect(delivery.reply.text).toMatch(/trained/);
  });

  it('generate in LoRA mode merges the trained LoRA into the model, and the LoRA changes the images', async () => {
    const gen = async (id: string, data: Record<string, unknown>) => {
      const before = h.deliverer.deliveries.length;
      await h.producer.enqueue(
        'generate',
        { user: USER, target: target(USER), style: 'studio-headshot', count: 1, seed: 5, ...data } as never,
        { idempotencyKey: id },
      );
      await until(() => h.deliverer.deliveries.length > before, 60_000);
      const s = await h.producer.status(id);
      expect(s?.error).toBeUndefined();
      return s?.result as { images: string[]; scores: number[] };
    };
    const first = await gen('tg-9510', { mode: 'lora', identityId: 'me' });
    expect(first.images).toHaveLength(1);
    expect(first.scores[0]).toBeGreaterThan(0.45);
    // Train again (the test double's weights scale with the steps) and repeat the same request:
    // same prompt, sampler, seed and template face; only the merged LoRA differs.
    expect((await train('tg-9512', 800)).status?.state).toBe('completed');
    const second = await gen('tg-9513', { mode: 'lora', identityId: 'me' });
    expect(second.images[0]).not.toBe(first.images[0]);
    // The merged folders on the shared data dir name the user's LoRA copies (so forget finds them).
    const merged = readdirSync(path.join(dataDir, 'merged'));
    expect(merged).toHaveLength(2);
    for (const m of merged)
      expect(readFileSync(path.join(dataDir, 'merged', m, 'merged.json'), 'utf8')).toContain(
        path.join('face-loras', USER),
      );
    expect(readdirSync(path.join(dataDir, 'face-loras', USER))).toHaveLength(2);
  });

  it('a failing trainer, a bad output file and a missing output are clear errors, not retried', async () => {
    for (const [id, steps, code] of [
      ['tg-9502', 50, 'trainer_failed'],
      ['tg-9503', 51, 'trainer_bad_output'],
      ['tg-9504', 53, 'trainer_no_output'],
    ] as const) {
      const { status, delivery } = await train(id, steps);
      expect(status?.state).toBe('failed');
      expect(status?.attempts).toBe(1);
      expect(status?.error?.code).toBe(code);
      expect(delivery.reply.error?.code).toBe(code);
    }
  });

  it('a trainer past its deadline is stopped', async () => {
    const { status, delivery } = await train('tg-9505', 52);
    expect(status?.state).toBe('failed');
    expect(delivery.reply.error?.code).toBe('trainer_timeout');
    expect(delivery.reply.error?.message).toMatch(/longer than 5 seconds/);
  }, 60_000);

  it('cancel stops the trainer and delivers nothing', async () => {
    const before = h.deliverer.deliveries.length;
    await h.producer.enqueue(
      'train-lora',
      { user: USER, target: target(USER), identityId: 'me', steps: 52 },
      { idempotencyKey: 'tg-9506' },
    );
    await until(async () => (await h.producer.status('tg-9506'))?.stage === 'train', 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await h.producer.cancel('tg-9506', USER)).toBe(true);
    await until(async () => (await h.producer.status('tg-9506'))?.state === 'cancelled', 15_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(h.deliverer.deliveries.length).toBe(before);
  });

  it('forget removes the face-LoRA copy made for merging and the merged folder built from it', async () => {
    const copies = path.join(dataDir, 'face-loras', USER);
    expect(existsSync(copies)).toBe(true);
    expect(readdirSync(path.join(dataDir, 'merged'))).toHaveLength(2);
    await h.producer.forget(USER);
    expect(existsSync(copies)).toBe(false);
    expect(readdirSync(path.join(dataDir, 'merged'))).toEqual([]);
  });
});
