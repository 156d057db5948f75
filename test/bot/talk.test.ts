/**
 * Talking portraits through Telegram: the real command, job and delivery layers, the real basic
 * animator, eSpeak NG and ffmpeg; only the Bot API is a stand-in (and the GPU portrait pipeline,
 * which stores a real photo as the result). A voice message sent on its own animates the user's
 * latest portrait; /talk speaks a text; the video arrives by sendVideo and says which animator and
 * voice made it; /forget removes the videos, the audio and the user's speech cache.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelegramFrontend } from '../../bot/telegram/bot.ts';
import { config } from '../../core/config.ts';
import { SpeechCache } from '../../core/speech/cache.ts';
import type { JobProcessor } from '../../queue/jobs/index.ts';
import { spokenFile, tmpDir } from '../media/helpers.ts';
import type { ApiCall, FakeTelegram, TgChat, TgUser } from './fake-telegram.ts';
import { type Stack, startTelegramRig, stopTelegramRig } from './harness.ts';

const png = readFileSync(new URL('../fixtures/faces/astronaut.png', import.meta.url));

/** The GPU pipeline's double: the user's portrait is a real photo of a face. */
const portraitDouble: JobProcessor = (async (ctx) => {
  const { ref } = await ctx.artifacts.put(ctx.data.user, png, { ext: 'png' });
  return { images: [ref], scores: [0.9] };
}) as JobProcessor;

function probe(bytes: Uint8Array): { codecs: string[]; duration: number } {
  const file = path.join(tmpDir(), 'v.mp4');
  writeFileSync(file, bytes);
  const out = JSON.parse(
    execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file], {
      encoding: 'utf8',
    }),
  ) as { streams: Array<{ codec_name: string }>; format: { duration: string } };
  return { codecs: out.streams.map((s) => s.codec_name).sort(), duration: Number(out.format.duration) };
}

describe('talking portraits on Telegram', () => {
  let fake: FakeTelegram;
  let stack: Stack;
  let tg: TelegramFrontend;
  const di: TgUser = { id: 9494, is_bot: false, first_name: 'Di', language_code: 'en' };
  const dm: TgChat = { id: 9494, type: 'private' };
  const user = `tg-${di.id}`;
  const textOf = (c: ApiCall) => String(c.params.text ?? c.params.caption ?? '');

  beforeAll(async () => {
    // The offline voice speaks (no network here); the reply must say so.
    process.env.FACECHAIN_TTS_ONLINE = 'false';
    ({ fake, stack, tg } = await startTelegramRig({ generate: { kind: 'inline', run: portraitDouble } }));
    fake.push(fake.callback(di, dm, 'consent:accept'));
    await fake.waitFor(() => fake.calls.find((c) => /Thank you/.test(textOf(c))));
    await stack.producer.enqueue(
      'generate',
      {
        user,
        target: { platform: 'telegram', chatId: String(dm.id), userId: String(di.id) },
        mode: 'zero-shot',
        style: 'snow',
        count: 1,
      },
      { idempotencyKey: 'tg-talk-portrait' },
    );
    await fake.waitFor(() => fake.calls.find((c) => c.method === 'sendPhoto'));
  }, 120_000);

  afterAll(async () => {
    delete process.env.FACECHAIN_TTS_ONLINE;
    await stopTelegramRig({ fake, stack, tg });
  });

  async function videoAfter(update: Record<string, unknown>): Promise<ApiCall> {
    const mark = fake.calls.length;
    fake.push(update);
    return fake.waitFor(() => fake.calls.slice(mark).find((c) => c.method === 'sendVideo'), 120_000);
  }

  it('a voice message on its own animates the latest portrait with that voice', async () => {
    const ogg = readFileSync(
      spokenFile('Hello from the test.', path.join(tmpDir(), 'v.ogg'), ['-c:a', 'libopus']),
    );
    const file = fake.addFile(ogg, 'ogg');
    const sent = await videoAfter(
      fake.message(di, dm, { voice: { ...file, duration: 2, mime_type: 'audio/ogg' } }),
    );
    expect(textOf(sent)).toContain('basic animator');
    const video = Object.values(sent.files)[0];
    const p = probe(video.bytes);
    expect(p.codecs).toEqual(['aac', 'h264']);
    expect(p.duration).toBeGreaterThan(0.8);
    expect(p.duration).toBeLessThan(4);
  }, 180_000);

  it('/talk speaks a text with the offline voice, and says so', async () => {
    const sent = await videoAfter(fake.message(di, dm, { text: '/talk hello there, this is a test' }));
    expect(textOf(sent)).toContain('basic animator');
    expect(textOf(sent)).toContain('offline voice');
  }, 180_000);

  it('note=on sends a round video note, then the words as a message', async () => {
    const mark = fake.calls.length;
    fake.push(fake.message(di, dm, { text: '/talk note=on short and round' }));
    const note = await fake.waitFor(
      () => fake.calls.slice(mark).find((c) => c.method === 'sendVideoNote'),
      120_000,
    );
    expect(Object.values(note.files)[0].bytes.length).toBeGreaterThan(1000);
    const words = await fake.waitFor(() =>
      fake.calls
        .slice(fake.calls.indexOf(note))
        .find((c) => c.method === 'sendMessage' && /basic animator/.test(textOf(c))),
    );
    expect(words).toBeDefined();
    expect(fake.calls.slice(mark).some((c) => c.method === 'sendVideo')).toBe(false);
  }, 180_000);

  it('refuses a text over the limit and a corrupt voice file, with clear words', async () => {
    const long = 'a'.repeat(config().FACECHAIN_TALK_MAX_TEXT + 1);
    let mark = fake.calls.length;
    fake.push(fake.message(di, dm, { text: `/talk ${long}` }));
    const refused = await fake.waitFor(() =>
      fake.calls.slice(mark).find((c) => /at most \d+ can be spoken/.test(textOf(c))),
    );
    expect(textOf(refused)).toContain(String(config().FACECHAIN_TALK_MAX_TEXT));
    mark = fake.calls.length;
    const junk = fake.addFile(new Uint8Array(4096).fill(7), 'ogg');
    fake.push(fake.message(di, dm, { voice: { ...junk, duration: 2, mime_type: 'audio/ogg' } }));
    const failed = await fake.waitFor(
      () =>
        fake.calls
          .slice(mark)
          .find(
            (c) =>
              c.method === 'sendMessage' && /audio|sound|voice/i.test(textOf(c)) && !/Making/.test(textOf(c)),
          ),
      120_000,
    );
    expect(fake.calls.slice(mark).some((c) => c.method === 'sendVideo')).toBe(false);
    expect(textOf(failed).length).toBeGreaterThan(10);
  }, 180_000);

  it('/forget removes the videos, the audio and the speech cache of the user', async () => {
    const before = await stack.producer.artifacts.listUser(user);
    expect(before.some((a) => a.ref.endsWith('.mp4'))).toBe(true);
    const cache = path.join(config().speechCacheDir, user);
    // Online speech is off in this file, so write the cache entries the online voice would have
    // kept: one of this user, one of someone else (which must stay).
    const speech = new SpeechCache(config().speechCacheDir, 10_000_000);
    const entry = { mp3: Buffer.alloc(2000, 7), words: [] };
    await speech.scoped(user).put('a'.repeat(64), entry);
    await speech.scoped('tg-424242').put('b'.repeat(64), entry);
    expect(await speech.scoped(user).get('a'.repeat(64))).toBeDefined();
    const mark = fake.calls.length;
    fake.push(fake.message(di, dm, { text: '/forget' }));
    await fake.waitFor(() =>
      fake.calls.slice(mark).find((c) => /forget:confirm/.test(JSON.stringify(c.params.reply_markup ?? ''))),
    );
    fake.push(fake.callback(di, dm, 'forget:confirm'));
    await fake.waitFor(() => fake.calls.slice(mark).find((c) => /deleted|removed/i.test(textOf(c))), 60_000);
    expect(await stack.producer.artifacts.listUser(user)).toEqual([]);
    expect(existsSync(cache)).toBe(false);
    expect(await speech.scoped('tg-424242').get('b'.repeat(64))).toBeDefined();
  }, 120_000);
});
