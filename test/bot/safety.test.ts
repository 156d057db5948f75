/**
 * The output safety check: the classifier (a fixture with the real export's inputs and outputs,
 * models/fixtures/safety-fixture.ts) installed the way an operator does (the file in the model
 * folder, its digest in <models dir>/manifests/), scores pictures; flagged results reach Telegram
 * with has_spoiler and Discord as SPOILER_ files; without the classifier the check says what to
 * install. End to end through the real template job in a worker thread.
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
import { NotAvailableError } from '../../base/errors.ts';
import { toPayloads } from '../../bot/discord/render.ts';
import { config } from '../../core/config.ts';
import { decodeImage, encodeJpeg, type RgbImage } from '../../core/image/codec.ts';
import { PreviewPublisher } from '../../core/portrait/previews.ts';
import { SAFETY_MODEL, SafetyClassifier } from '../../core/safety/classifier.ts';
import { LocalArtifactStore } from '../../core/storage/artifacts.ts';
import { buildSafetyFixture } from '../../models/fixtures/safety-fixture.ts';
import { loadManifests } from '../../models/manifest.ts';
import { ModelStore } from '../../models/store.ts';
import { until } from '../queue/helpers.ts';
import type { TgChat, TgUser } from './fake-telegram.ts';
import { startTelegramRig, stopTelegramRig, type TelegramRig } from './harness.ts';

const face = (f: string) => new Uint8Array(readFileSync(new URL(`../fixtures/faces/${f}`, import.meta.url)));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fc-safety-'));
const modelsDir = path.join(tmp, 'models');

/** A model folder with the face models and the classifier, its digest recorded as an operator does. */
function installClassifier(): void {
  mkdirSync(path.join(modelsDir, SAFETY_MODEL), { recursive: true });
  for (const id of readdirSync(config().modelsDir))
    if (id !== 'manifests') symlinkSync(path.join(config().modelsDir, id), path.join(modelsDir, id));
  const bytes = buildSafetyFixture();
  writeFileSync(path.join(modelsDir, SAFETY_MODEL, 'model.onnx'), bytes);
  const m = loadManifests().get(SAFETY_MODEL)!;
  mkdirSync(path.join(modelsDir, 'manifests'));
  writeFileSync(
    path.join(modelsDir, 'manifests', `${SAFETY_MODEL}.json`),
    JSON.stringify({
      ...m,
      verified: true,
      files: [
        { ...m.files[0], sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length },
      ],
    }),
  );
}
installClassifier();
// Worker threads read their settings when they start: they see this model folder.
process.env.FACECHAIN_MODELS_DIR = modelsDir;

/** A face photo tinted towards red or blue (the fixture flags red). */
async function tinted(file: string, tint: 'red' | 'blue'): Promise<Uint8Array> {
  const img = await decodeImage(face(file));
  const out = new Uint8Array(img.data);
  for (let i = 0; i < out.length; i += 3) {
    if (tint === 'red') out[i + 2] = out[i + 2] >> 2;
    else out[i] = out[i] >> 2;
  }
  return encodeJpeg({ data: out, width: img.width, height: img.height });
}

const plain = (r: number, g: number, b: number): RgbImage => {
  const data = new Uint8Array(64 * 64 * 3);
  for (let i = 0; i < data.length; i += 3) data.set([r, g, b], i);
  return { data, width: 64, height: 64 };
};

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('safety classifier', () => {
  it('scores pictures from the verified model; a missing model is "not available" with what to install', async () => {
    const model = await SafetyClassifier.load(new ModelStore(modelsDir));
    const [red, blue, grey] = await model.scores([
      plain(220, 60, 40),
      plain(40, 60, 220),
      plain(128, 128, 128),
    ]);
    expect(red).toBeGreaterThan(0.99);
    expect(blue).toBeLessThan(0.01);
    expect(grey).toBeLessThan(0.5);
    await model.dispose();
    const bare = mkdtempSync(path.join(tmp, 'bare-'));
    const err = await SafetyClassifier.load(new ModelStore(bare)).catch((e) => e);
    expect(err).toBeInstanceOf(NotAvailableError);
    expect(String(err.message)).toMatch(/safety-nsfw.*docs\/frontends\.md.*not installed/);
  });

  it('a preview the check flags is not shown, and the job shows no more previews', async () => {
    const model = await SafetyClassifier.load(new ModelStore(modelsDir));
    const store = new LocalArtifactStore(mkdtempSync(path.join(tmp, 'previews-')));
    const shown: Array<string | undefined> = [];
    let now = 10_000;
    const previews = new PreviewPublisher(
      { artifacts: store, progress: (_s, _p, extra) => shown.push(extra?.preview) },
      'tg-5151',
      1000,
      () => now,
      async (img) => (await model.scores([img]))[0]! >= 0.5,
    );
    const offer = async (img: RgbImage) => {
      previews.offer(img, 'generate', 50);
      now += 1500;
      await new Promise((r) => setTimeout(r, 50));
    };
    await offer(plain(40, 60, 220));
    await offer(plain(220, 60, 40)); // flagged
    await offer(plain(40, 60, 220)); // would be fine, but the job shows no more
    await previews.close();
    expect(shown).toHaveLength(1);
    expect([previews.published, previews.stopped]).toEqual([1, true]);
    expect(await store.listUser('tg-5151')).toEqual([]);
    await model.dispose();
  });

  it('Discord sends a flagged picture as a SPOILER_ file', async () => {
    const png = face('astronaut.png');
    const [p] = await toPayloads(
      {
        text: 'x',
        images: [
          { name: 'result-1.png', bytes: png, spoiler: true },
          { name: 'result-2.png', bytes: png },
        ],
      },
      async () => png,
    );
    expect(p.files.map((f) => f.name)).toEqual(['SPOILER_result-1.png', 'result-2.png']);
  });
});

describe('flagged results through Telegram (real template job)', () => {
  let rig: TelegramRig;
  const ivy: TgUser = { id: 5151, is_bot: false, first_name: 'Ivy', language_code: 'en' };
  const dm: TgChat = { id: 5151, type: 'private', first_name: 'Ivy' };

  beforeAll(async () => {
    rig = await startTelegramRig();
    const user = `tg-${ivy.id}`;
    const photo = (await rig.stack.producer.artifacts.put(user, face('astronaut.png'), { ext: 'png' })).ref;
    await rig.stack.producer.enqueue(
      'prepare-identity',
      {
        user,
        target: { platform: 'telegram', chatId: String(dm.id), userId: String(ivy.id) },
        identityId: 'me',
        photos: [photo],
      },
      { idempotencyKey: `tg-safety-${Date.now()}` },
    );
    await until(
      async () => (await rig.stack.producer.records.getIdentity(user, 'me'))?.status === 'prepared',
      60_000,
    );
  }, 90_000);
  afterAll(() => stopTelegramRig(rig));

  it('a flagged result is sent blurred and says so; an unflagged one is not', async () => {
    const { fake } = rig;
    const mark = fake.calls.length;
    fake.push(fake.callback(ivy, dm, 'consent:accept'));
    await fake.waitFor(() => fake.calls.slice(mark).find((c) => /Thank you/.test(String(c.params.text))));

    const template = async (tint: 'red' | 'blue') => {
      const file = fake.addFile(await tinted('messi5.jpg', tint));
      const m = fake.calls.length;
      fake.push(fake.message(ivy, dm, { caption: '/template', photo: [{ ...file, width: 10, height: 10 }] }));
      return fake.waitFor(
        () =>
          fake.calls
            .slice(m)
            .find((c) => c.method === 'sendPhoto' && /in the template/.test(String(c.params.caption))),
        60_000,
      );
    };
    const red = await template('red');
    expect(red.params.has_spoiler).toBe(true);
    expect(String(red.params.caption)).toContain('flagged by the safety check and blurred');
    const blue = await template('blue');
    expect(blue.params.has_spoiler).toBeUndefined();
    expect(String(blue.params.caption)).not.toContain('flagged');
  }, 120_000);
});
