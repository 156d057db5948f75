/**
 * The identity record tells the truth about LoRA training (/status, /portrait read it): "training"
 * while train-lora runs, "trained" after, "failed" when it ends without a LoRA, back to "prepared"
 * when the user cancels, and still "trained" when a retraining of a trained identity fails.
 * Real queue and worker; the GPU trainer is the test double.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainerProcessor as trainLoraProcessor } from '../../queue/jobs/train-lora.ts';
import { target, until } from '../queue/helpers.ts';
import { type Harness, prepare, startHarness } from './harness.ts';

let h: Harness;
let dataDir: string;
const USER = 'tg-96';
const root = fileURLToPath(new URL('../../', import.meta.url));
const CMD = `${process.execPath} "${root}bin/run-ts.js" "${root}test/pipelines/fake-trainer.ts"`;

beforeAll(async () => {
  process.env.FACECHAIN_TRAINER_CMD = CMD;
  process.env.FACECHAIN_TRAINER_TIMEOUT_S = '4';
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'fc-status-'));
  h = await startHarness({ dataDir }, { processors: { 'train-lora': trainLoraProcessor(CMD) } });
  await prepare(h, USER, 'a', ['astronaut.png']);
  await prepare(h, USER, 'b', ['astronaut.png']);
}, 180_000);

afterAll(async () => {
  await h?.close();
  delete process.env.FACECHAIN_TRAINER_CMD;
  delete process.env.FACECHAIN_TRAINER_TIMEOUT_S;
  rmSync(dataDir, { recursive: true, force: true });
});

const statusOf = async (id: string) => (await h.producer.records.getIdentity(USER, id))?.status;

async function start(jobId: string, identityId: string, steps: number): Promise<number> {
  const before = h.deliverer.deliveries.length;
  await h.producer.enqueue(
    'train-lora',
    { user: USER, target: target(USER), identityId, steps },
    { idempotencyKey: jobId },
  );
  return before;
}

describe('identity status during LoRA training', () => {
  it('training while the trainer runs, failed when it ends without a LoRA', async () => {
    expect(await statusOf('a')).toBe('prepared');
    const before = await start('tg-9601', 'a', 52); // the double hangs until the deadline
    await until(async () => (await h.producer.status('tg-9601'))?.stage === 'train', 30_000);
    expect(await statusOf('a')).toBe('training');
    await until(() => h.deliverer.deliveries.length > before, 30_000);
    expect(h.deliverer.deliveries[before].reply.error?.code).toBe('trainer_timeout');
    expect(await statusOf('a')).toBe('failed');
    // The crops are still there: the identity stays usable for zero-shot portraits.
    expect((await h.producer.records.getIdentity(USER, 'a'))?.crops.length).toBeGreaterThan(0);
  }, 60_000);

  it('a cancelled training puts the identity back to prepared', async () => {
    await start('tg-9602', 'b', 52);
    await until(async () => (await h.producer.status('tg-9602'))?.stage === 'train', 30_000);
    expect(await statusOf('b')).toBe('training');
    expect(await h.producer.cancel('tg-9602', USER)).toBe(true);
    await until(async () => (await statusOf('b')) !== 'training', 15_000);
    expect(await statusOf('b')).toBe('prepared');
  }, 60_000);

  it('trained after a training; a failed retraining keeps the working LoRA', async () => {
    let before = await start('tg-9603', 'b', 400);
    await until(() => h.deliverer.deliveries.length > before, 60_000);
    expect(await statusOf('b')).toBe('trained');
    const lora = (await h.producer.records.getIdentity(USER, 'b'))?.lora;
    expect(lora).toBeDefined();
    before = await start('tg-9604', 'b', 50); // the double exits with an error
    await until(() => h.deliverer.deliveries.length > before, 60_000);
    expect(h.deliverer.deliveries[before].reply.error?.code).toBe('trainer_failed');
    const after = await h.producer.records.getIdentity(USER, 'b');
    expect(after?.status).toBe('trained');
    expect(after?.lora).toBe(lora);
  }, 90_000);
});
