/**
 * Discord's attachment paths for talking portraits and try-on, through the real discord.js Client
 * against the fake REST API and gateway, with the real command and job layers, the real basic
 * animator (eSpeak NG, ffmpeg) and the real basic try-on on a CPU worker.
 *
 * /talk with an audio attachment: the recording is decoded, animated and sent back as an MP4 that
 * ffprobe reads (H.264 + AAC, about as long as the recording). A file that is no audio is refused
 * with clear words and no video. /tryon with a garment attachment: the basic try-on's picture
 * arrives as an attachment, labelled as the basic try-on, with its likeness.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiscordFrontend } from '../../bot/discord/bot.ts';
import { ffprobe, spokenFile, tmpDir } from '../media/helpers.ts';
import { until } from '../queue/helpers.ts';
import type { DcUser, FakeDiscord, RestCall } from './fake-discord.ts';
import { type Stack, startDiscordRig, stopDiscordRig } from './harness.ts';

const face = (f: string) => new Uint8Array(readFileSync(new URL(`../fixtures/faces/${f}`, import.meta.url)));

describe('Discord: audio and garment attachments', () => {
  let fake: FakeDiscord;
  let stack: Stack;
  let dc: DiscordFrontend;
  const eve: DcUser = { id: '800000000000000091', username: 'eve' };
  const user = `dc-${eve.id}`;

  beforeAll(async () => {
    // The offline voice only (no network here).
    process.env.FACECHAIN_TTS_ONLINE = 'false';
    ({ fake, stack, dc } = await startDiscordRig());

    const mark = fake.calls.length;
    fake.button(eve, 'consent:accept', { dm: true });
    await fake.waitFor(() => said(fake.calls.slice(mark), /Thank you/));
    // A prepared face from one photo (the real prepare-identity job): what /talk animates when
    // the user has no portrait yet, and whose face the try-on puts on the garment's wearer.
    const photo = (await stack.producer.artifacts.put(user, face('astronaut.png'), { ext: 'png' })).ref;
    await stack.producer.enqueue(
      'prepare-identity',
      {
        user,
        target: { platform: 'discord', chatId: eve.id, userId: eve.id },
        identityId: 'me',
        photos: [photo],
      },
      { idempotencyKey: `cli-dcmedia-${user}` },
    );
    await until(
      async () => (await stack.producer.records.getIdentity(user, 'me'))?.status === 'prepared',
      90_000,
    );
  }, 180_000);

  afterAll(async () => {
    delete process.env.FACECHAIN_TTS_ONLINE;
    await stopDiscordRig({ fake, stack, dc });
  });

  const said = (calls: RestCall[], re: RegExp) => calls.find((c) => re.test(fake.contents([c])[0] ?? ''));
  const withFile = (calls: RestCall[], re: RegExp) => calls.find((c) => c.files.some((f) => re.test(f.name)));

  it('/talk with an audio attachment answers with an MP4 of the face saying it', async () => {
    const dir = tmpDir();
    const mp3 = readFileSync(spokenFile('Hello from Discord.', path.join(dir, 'hello.mp3')));
    const a = fake.addAttachment('hello.mp3', new Uint8Array(mp3), 'audio/mpeg');
    const mark = fake.calls.length;
    fake.slash(eve, 'talk', [{ name: 'audio', type: 11, value: a.id }], { attachments: [a], dm: true });
    const sent = await fake.waitFor(() => withFile(fake.calls.slice(mark), /\.mp4$/), 150_000);
    expect(fake.contents([sent])[0]).toContain('basic animator');
    const file = sent.files.find((f) => f.name.endsWith('.mp4'))!;
    expect(file.size).toBeLessThanOrEqual(10 * 1024 * 1024);
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'fc-dcmedia-')), 'out.mp4');
    writeFileSync(out, file.bytes);
    const probe = ffprobe(out);
    expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    const spoken = Number(ffprobe(path.join(dir, 'hello.mp3')).format.duration);
    expect(Math.abs(Number(probe.format.duration) - spoken)).toBeLessThan(0.3);
  }, 180_000);

  it('/talk with a file that is no audio is refused in plain words, with no video', async () => {
    const a = fake.addAttachment('voice.ogg', new Uint8Array(4096).fill(7), 'audio/ogg');
    const mark = fake.calls.length;
    fake.slash(eve, 'talk', [{ name: 'audio', type: 11, value: a.id }], { attachments: [a], dm: true });
    const refused = await fake.waitFor(
      () => said(fake.calls.slice(mark), /^The file is not audio that can be played\./),
      120_000,
    );
    expect(fake.contents([refused])[0]).toBe(
      'The file is not audio that can be played. Send a voice message, or an MP3, M4A, OGG or WAV file.',
    );
    // The job has ended with that error: no video can follow.
    expect(withFile(fake.calls.slice(mark), /\.mp4$/)).toBeUndefined();
  }, 150_000);

  it('/tryon with a garment attachment answers with the basic try-on picture and its likeness', async () => {
    const g = fake.addAttachment('outfit.jpg', face('messi5.jpg'));
    const mark = fake.calls.length;
    fake.slash(eve, 'tryon', [{ name: 'garment', type: 11, value: g.id }], { attachments: [g], dm: true });
    const done = await fake.waitFor(() => said(fake.calls.slice(mark), /Basic try-on/), 150_000);
    const calls = fake.calls.slice(mark);
    expect(withFile(calls, /\.(png|jpe?g|webp)$/)).toBeDefined();
    expect(fake.contents(calls).join('\n')).toMatch(/likeness \d+%/i);
    expect(fake.contents([done])[0]).toContain('Basic try-on');
  }, 180_000);
});
