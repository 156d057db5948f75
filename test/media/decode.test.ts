/** Audio in: voice notes and audio files decoded by the real ffmpeg; long, corrupt and hostile inputs refused. */
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, InputError, NotAvailableError } from '../../base/errors.ts';
import { decodeAudio } from '../../core/audio/decode.ts';
import { durationS, envelope } from '../../core/audio/pcm.ts';
import { mediaTools } from '../../core/media/ffmpeg.ts';
import { ffmpeg, mp3Claiming, projectTempEntries, spokenFile, tmpDir } from './helpers.ts';

let dir: string;
let tempBefore: string[];
const files: Record<string, string> = {};
const SENTENCE = 'This is a voice message for the talking portrait.';

beforeAll(() => {
  tempBefore = projectTempEntries();
  dir = tmpDir();
  files.ogg = spokenFile(SENTENCE, path.join(dir, 'voice.ogg'), [
    '-c:a',
    'libopus',
    '-b:a',
    '24k',
    '-ar',
    '48000',
  ]);
  files.mp3 = spokenFile(SENTENCE, path.join(dir, 'song.mp3'), ['-c:a', 'libmp3lame', '-b:a', '64k']);
  files.m4a = spokenFile(SENTENCE, path.join(dir, 'memo.m4a'), ['-c:a', 'aac', '-b:a', '64k']);
  files.wav = spokenFile(SENTENCE, path.join(dir, 'take.wav'), ['-ac', '2']);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  expect(projectTempEntries()).toEqual(tempBefore);
});

describe('decodeAudio', () => {
  it('decodes OGG/Opus, MP3, M4A and WAV (bytes or path) to mono PCM of the same length', async () => {
    const lengths: number[] = [];
    for (const kind of ['ogg', 'mp3', 'm4a', 'wav']) {
      const byPath = await decodeAudio(files[kind]!);
      const byBytes = await decodeAudio(new Uint8Array(readFileSync(files[kind]!)), { targetRate: 24_000 });
      expect(byPath.sampleRate).toBe(16_000);
      expect(byBytes.sampleRate).toBe(24_000);
      expect(Math.abs(durationS(byPath) - durationS(byBytes))).toBeLessThan(0.06);
      lengths.push(durationS(byPath));
    }
    for (const l of lengths) expect(Math.abs(l - lengths[3]!)).toBeLessThan(0.1);
    expect(lengths[3]).toBeGreaterThan(2);
  });

  it('normalises loudness with one gain: a quiet recording comes out at the target level, shape kept', async () => {
    const quiet = path.join(dir, 'quiet.wav');
    ffmpeg(['-i', files.wav!, '-af', 'volume=-30dB', quiet]);
    const loud = await decodeAudio(files.wav!);
    const soft = await decodeAudio(quiet);
    let peak = 0;
    for (const s of soft.samples) peak = Math.max(peak, Math.abs(s));
    expect(peak).toBeLessThanOrEqual(10 ** (-1 / 20) + 1e-3);
    expect(peak).toBeGreaterThan(0.2);
    // Same envelope shape as the normal-level recording (one linear gain, no compression).
    const a = envelope(loud, 25);
    const b = envelope(soft, 25);
    const n = Math.min(a.length, b.length);
    const ratio = (i: number) => b[i]! / a[i]!;
    const ratios = Array.from({ length: n }, (_, i) => i)
      .filter((i) => a[i]! > 0.05)
      .map(ratio);
    expect(Math.max(...ratios) / Math.min(...ratios)).toBeLessThan(1.15);
  });

  it('refuses a 3-hour file by its duration, read from the header before decoding', async () => {
    const long = path.join(dir, 'three-hours.mp3');
    // Cheaply: one minute of 8 kb/s silence encoded once, then copied 180 times over (no re-encoding).
    const minute = path.join(dir, 'minute.mp3');
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'anullsrc=r=8000:cl=mono',
      '-t',
      '60',
      '-c:a',
      'libmp3lame',
      '-b:a',
      '8k',
      minute,
    ]);
    ffmpeg(['-stream_loop', '179', '-i', minute, '-c', 'copy', long]);
    const err = await decodeAudio(long).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.code).toBe('audio_too_long');
    expect(Math.abs(err.context.seconds - 10_800)).toBeLessThan(60);
    expect(err.context.max).toBe(60);
    expect(err.message).toContain('60 s');
    // A file whose header claims 3 h but holds 2 s is refused too: the refusal comes from the header.
    const claiming = mp3Claiming(10_800, path.join(dir, 'claims-three-hours.mp3'));
    await expect(decodeAudio(claiming)).rejects.toMatchObject({
      code: 'audio_too_long',
      context: { seconds: 10_800 },
    });
    expect(
      durationS(await decodeAudio(mp3Claiming(10_800, path.join(dir, 'c2.mp3')), { maxSeconds: 20_000 })),
    ).toBeLessThan(3);
  });

  it('a stream that does not state its length is cut at the cap and refused', async () => {
    const raw = path.join(dir, 'stream.aac');
    ffmpeg(['-f', 'lavfi', '-i', 'sine=f=300:d=8:r=16000', '-c:a', 'aac', '-f', 'adts', raw]);
    await expect(decodeAudio(raw, { maxSeconds: 3 })).rejects.toMatchObject({ code: 'audio_too_long' });
    expect(durationS(await decodeAudio(raw, { maxSeconds: 10 }))).toBeCloseTo(8, 0);
  });

  it('corrupt and non-audio files are not_audio; too large is audio_too_large', async () => {
    const ogg = readFileSync(files.ogg!);
    const garbage = Buffer.from(ogg);
    for (let i = 200; i < garbage.length; i += 7) garbage[i] = (garbage[i]! * 31 + 7) & 255;
    const cases: [string, Uint8Array][] = [
      ['random bytes', new Uint8Array(4096).map((_, i) => (i * 7919) & 255)],
      ['text', new TextEncoder().encode('hello, I am not audio\n'.repeat(50))],
      ['truncated header', ogg.subarray(0, 30)],
      ['mangled ogg', garbage],
      ['png image', readFileSync(path.join('test', 'fixtures', 'faces', 'astronaut.png'))],
      ['empty', new Uint8Array(0)],
    ];
    for (const [what, bytes] of cases) {
      const err = await decodeAudio(bytes).catch((e) => e);
      expect(err, what).toBeInstanceOf(InputError);
      expect(err.code, what).toBe('not_audio');
    }
    await expect(decodeAudio(ogg, { maxBytes: 1000 })).rejects.toMatchObject({ code: 'audio_too_large' });
    await expect(decodeAudio(path.join(dir, 'missing.ogg'))).rejects.toMatchObject({ code: 'no_such_file' });
  });

  it('a playlist or concat list is not opened (no reading other local files through it)', async () => {
    const m3u8 = path.join(dir, 'list.m3u8');
    writeFileSync(m3u8, `#EXTM3U\n#EXTINF:2,\n${files.wav}\n#EXT-X-ENDLIST\n`);
    await expect(decodeAudio(m3u8)).rejects.toMatchObject({ code: 'not_audio' });
    const concat = path.join(dir, 'list.txt');
    writeFileSync(concat, `ffconcat version 1.0\nfile '${files.wav}'\n`);
    await expect(decodeAudio(concat)).rejects.toMatchObject({ code: 'not_audio' });
  });

  it('odd file names are files, not options or protocols', async () => {
    for (const name of [
      '-y.ogg',
      'pipe:1',
      'concat:a|b.ogg',
      'voice note (1) "final".ogg',
      '声音 消息.ogg',
      'a\nb.ogg',
    ]) {
      const p = path.join(dir, name);
      copyFileSync(files.ogg!, p);
      const pcm = await decodeAudio(p);
      expect(durationS(pcm), name).toBeGreaterThan(2);
    }
  });

  it('cancel stops decoding with CancelledError; a missing ffmpeg is NotAvailableError', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(decodeAudio(files.ogg!, { signal: ac.signal })).rejects.toBeInstanceOf(CancelledError);
    const ac2 = new AbortController();
    const p = decodeAudio(new Uint8Array(readFileSync(files.mp3!)), { signal: ac2.signal });
    setTimeout(() => ac2.abort(), 5);
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    const tools = { ...mediaTools(), ffprobe: '/nonexistent/ffprobe' };
    const err = await decodeAudio(files.ogg!, { tools }).catch((e) => e);
    expect(err).toBeInstanceOf(NotAvailableError);
    expect(err.message).toContain('apt-get install ffmpeg');
  });
});
