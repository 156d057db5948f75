/**
 * /tryon through Telegram (real grammY against the fake Bot API, the real command and job layers):
 * on a CPU-only deployment the basic try-on answers and says so; where a GPU worker runs the
 * generative try-on (fixture SD 1.5 export with the OpenPose ControlNet), the command sends the
 * request there and the garment-mask overlay follows the picture. A garment photo without anyone
 * in it gets a clear refusal in the user's words.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../core/image/codec.ts';
import { writeFixtureControlNet } from '../../models/fixtures/sd.ts';
import { tryOnGpuProcessor } from '../../queue/jobs/try-on-gpu.ts';
import { writeFaceModel } from '../pipelines/face-model.ts';
import { until } from '../queue/helpers.ts';
import type { ApiCall, TgChat, TgUser } from './fake-telegram.ts';
import { startTelegramRig, stopTelegramRig, type TelegramRig } from './harness.ts';

const face = (f: string) => new Uint8Array(readFileSync(new URL(`../fixtures/faces/${f}`, import.meta.url)));
const textOf = (c: ApiCall) => String(c.params.text ?? c.params.caption ?? '');

/** Consent, then a prepared face from one photo (the real prepare-identity job). */
async function preparedUser(rig: TelegramRig, who: TgUser, dm: TgChat): Promise<void> {
  const { fake, stack } = rig;
  fake.push(fake.callback(who, dm, 'consent:accept'));
  await fake.waitFor(() => fake.calls.find((c) => /Thank you/.test(textOf(c))));
  const user = `tg-${who.id}`;
  const photo = (await stack.producer.artifacts.put(user, face('astronaut.png'), { ext: 'png' })).ref;
  await stack.producer.enqueue(
    'prepare-identity',
    {
      user,
      target: { platform: 'telegram', chatId: String(dm.id), userId: String(who.id) },
      identityId: 'me',
      photos: [photo],
    },
    { idempotencyKey: `cli-tryon-${user}` },
  );
  await until(
    async () => (await stack.producer.records.getIdentity(user, 'me'))?.status === 'prepared',
    90_000,
  );
}

/** A garment photo captioned /tryon; resolves with every call made after it once `done` matches. */
async function tryOn(rig: TelegramRig, who: TgUser, dm: TgChat, file: Uint8Array, done: RegExp) {
  const { fake } = rig;
  const mark = fake.calls.length;
  const f = fake.addFile(file, 'jpg');
  fake.push(fake.message(who, dm, { caption: '/tryon', photo: [{ ...f, width: 512, height: 512 }] }));
  await fake.waitFor(() => fake.calls.slice(mark).find((c) => done.test(textOf(c))), 120_000);
  return fake.calls.slice(mark);
}

describe('/tryon on a CPU-only deployment', () => {
  let rig: TelegramRig;
  const ann: TgUser = { id: 6161, is_bot: false, first_name: 'Ann', language_code: 'en' };
  const dm: TgChat = { id: 6161, type: 'private', first_name: 'Ann' };

  beforeAll(async () => {
    rig = await startTelegramRig();
    await preparedUser(rig, ann, dm);
  }, 180_000);
  afterAll(() => stopTelegramRig(rig));

  it('answers with the basic try-on, says so, and captions the likeness', async () => {
    expect(await rig.stack.services.jobs.available('try-on-gpu')).toBe(false);
    const calls = await tryOn(rig, ann, dm, face('messi5.jpg'), /Basic try-on/);
    expect(calls.some((c) => /Trying on the garment/.test(textOf(c)))).toBe(true);
    const pictures = calls.filter((c) => c.method === 'sendPhoto' || c.method === 'sendMediaGroup');
    expect(pictures.length).toBeGreaterThan(0);
    expect(calls.map(textOf).join('\n')).toMatch(/likeness \d+%/i);
  }, 180_000);

  it('a garment photo with nobody in it is refused in plain words', async () => {
    const grey = await encodePng({ data: new Uint8Array(256 * 256 * 3).fill(150), width: 256, height: 256 });
    const calls = await tryOn(rig, ann, dm, grey, /person/i);
    expect(calls.some((c) => c.method === 'sendPhoto')).toBe(false);
  }, 120_000);
});

describe('/tryon where a GPU worker runs the generative try-on', () => {
  let rig: TelegramRig;
  let modelDir: string;
  const ben: TgUser = { id: 6262, is_bot: false, first_name: 'Ben', language_code: 'en' };
  const dm: TgChat = { id: 6262, type: 'private', first_name: 'Ben' };

  beforeAll(async () => {
    modelDir = mkdtempSync(path.join(os.tmpdir(), 'fc-tryon-sd-'));
    await writeFaceModel(modelDir, 'sample2.jpg', 1, { controlnet: true });
    writeFixtureControlNet(path.join(modelDir, 'controlnet-openpose'));
    // Worker threads read their settings when they start: they see this model folder.
    process.env.FACECHAIN_SD_MODEL_DIR = modelDir;
    rig = await startTelegramRig({ 'try-on-gpu': await tryOnGpuProcessor(modelDir) });
    await preparedUser(rig, ben, dm);
  }, 180_000);
  afterAll(async () => {
    await stopTelegramRig(rig);
    delete process.env.FACECHAIN_SD_MODEL_DIR;
    rmSync(modelDir, { recursive: true, force: true });
  });

  it('goes to try-on-gpu, and the garment overlay follows the picture', async () => {
    expect(await rig.stack.services.jobs.available('try-on-gpu')).toBe(true);
    const calls = await tryOn(rig, ben, dm, face('astronaut.png'), /garment that will be kept/);
    const said = calls.map(textOf).join('\n');
    expect(said).toMatch(/Here is your try-on/);
    expect(said).not.toMatch(/Basic try-on/);
    const jobs = await rig.stack.services.jobs.list({ platform: 'telegram', id: String(ben.id) });
    expect(jobs.map((j) => j.name)).toContain('try-on-gpu');
    expect(jobs.map((j) => j.name)).not.toContain('try-on');
  }, 180_000);
});
