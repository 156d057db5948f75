/**
 * /talk on a deployment with a GPU talking-head worker: the command sends the request to
 * `talk-gpu` (the worker advertises it), the real job runs the SadTalker engine on fixture models
 * installed the way an operator installs an export (files in the model folder, digests in
 * <models dir>/manifests/), and the video reaches Telegram saying which engine made it. The CPU
 * job is not used. The portrait comes from a GPU-pipeline double (no SD weights here).
 */
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelegramFrontend } from '../../bot/telegram/bot.ts';
import { config } from '../../core/config.ts';
import { SADTALKER_MODELS } from '../../core/talk/sadtalker.ts';
import {
  buildAudio2ExpFixture,
  buildFaceReconFixture,
  buildRendererFixture,
} from '../../models/fixtures/talk-fixtures.ts';
import { loadManifests } from '../../models/manifest.ts';
import type { JobProcessor } from '../../queue/jobs/index.ts';
import type { ApiCall, FakeTelegram, TgChat, TgUser } from './fake-telegram.ts';
import { type Stack, startTelegramRig, stopTelegramRig } from './harness.ts';

const png = readFileSync(new URL('../fixtures/faces/astronaut.png', import.meta.url));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fc-talkgpu-'));
const modelsDir = path.join(tmp, 'models');

/** The face models of this machine plus the SadTalker fixture export, digests recorded. */
function installSadTalker(): void {
  mkdirSync(path.join(modelsDir, 'manifests'), { recursive: true });
  for (const id of readdirSync(config().modelsDir))
    if (id !== 'manifests') symlinkSync(path.join(config().modelsDir, id), path.join(modelsDir, id));
  const files: Record<string, Uint8Array> = {
    [SADTALKER_MODELS.faceRecon]: buildFaceReconFixture(),
    [SADTALKER_MODELS.audio2exp]: buildAudio2ExpFixture(),
    [SADTALKER_MODELS.renderer]: buildRendererFixture(),
  };
  const manifests = loadManifests();
  for (const [id, bytes] of Object.entries(files)) {
    mkdirSync(path.join(modelsDir, id), { recursive: true });
    writeFileSync(path.join(modelsDir, id, 'model.onnx'), bytes);
    const m = manifests.get(id)!;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(
      path.join(modelsDir, 'manifests', `${id}.json`),
      JSON.stringify({ ...m, verified: true, files: [{ ...m.files[0]!, sha256, size: bytes.length }] }),
    );
  }
}
installSadTalker();

/** The GPU pipeline's double: the user's portrait is a real photo of a face. */
const portraitDouble: JobProcessor = (async (ctx) => {
  const { ref } = await ctx.artifacts.put(ctx.data.user, png, { ext: 'png' });
  return { images: [ref], scores: [0.9] };
}) as JobProcessor;

describe('/talk with a GPU talking-head worker', () => {
  let fake: FakeTelegram;
  let stack: Stack;
  let tg: TelegramFrontend;
  const bo: TgUser = { id: 9595, is_bot: false, first_name: 'Bo', language_code: 'en' };
  const dm: TgChat = { id: 9595, type: 'private' };
  const user = `tg-${bo.id}`;
  const textOf = (c: ApiCall) => String(c.params.text ?? c.params.caption ?? '');

  beforeAll(async () => {
    process.env.FACECHAIN_TTS_ONLINE = 'false';
    // Worker threads read their settings when they start: they see this model folder.
    process.env.FACECHAIN_MODELS_DIR = modelsDir;
    ({ fake, stack, tg } = await startTelegramRig({
      generate: { kind: 'inline', run: portraitDouble },
      // The real talk-gpu job in a worker thread (this process read its settings earlier).
      'talk-gpu': {
        kind: 'thread',
        module: new URL('../../queue/jobs/talk-gpu.ts', import.meta.url).href,
        exportName: 'process',
      },
    }));
    fake.push(fake.callback(bo, dm, 'consent:accept'));
    await fake.waitFor(() => fake.calls.find((c) => /Thank you/.test(textOf(c))));
    await stack.producer.enqueue(
      'generate',
      {
        user,
        target: { platform: 'telegram', chatId: String(dm.id), userId: String(bo.id) },
        mode: 'zero-shot',
        style: 'snow',
        count: 1,
      },
      { idempotencyKey: 'tg-talkgpu-portrait' },
    );
    await fake.waitFor(() => fake.calls.find((c) => c.method === 'sendPhoto'));
  }, 120_000);

  afterAll(async () => {
    delete process.env.FACECHAIN_TTS_ONLINE;
    delete process.env.FACECHAIN_MODELS_DIR;
    await stopTelegramRig({ fake, stack, tg });
    rmSync(tmp, { recursive: true, force: true });
  });

  it('runs on the SadTalker engine through talk-gpu and says so', async () => {
    expect(await stack.services.jobs.available('talk-gpu')).toBe(true);
    const mark = fake.calls.length;
    fake.push(fake.message(bo, dm, { text: '/talk Hello from the graphics card.' }));
    const video = await fake.waitFor(
      () => fake.calls.slice(mark).find((c) => c.method === 'sendVideo'),
      120_000,
    );
    const said = fake.calls.slice(mark).map(textOf).join('\n');
    expect(said).toMatch(/Animated with SadTalker/);
    expect(said).not.toMatch(/basic animator/i);
    expect(Object.values(video.files ?? {}).length).toBe(1);
    // The job that ran is the GPU one.
    const jobs = await stack.services.jobs.list({ platform: 'telegram', id: String(bo.id) });
    expect(jobs.map((j) => j.name)).toContain('talk-gpu');
    expect(jobs.map((j) => j.name)).not.toContain('talk');
  }, 180_000);
});
