/** MP4 encoding with the real ffmpeg, checked by ffprobe: streams, duration, size caps, cancel, bad input. */
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, InputError, NotAvailableError } from '../../base/errors.ts';
import { durationS, type Pcm } from '../../core/audio/pcm.ts';
import { mediaTools } from '../../core/media/ffmpeg.ts';
import { espeakSpeak } from '../../core/speech/espeak.ts';
import { planEncode } from '../../core/video/bitrate.ts';
import { encodeMp4, VIDEO_CAPS } from '../../core/video/encode.ts';
import { ffprobe, projectTempEntries, tmpDir } from './helpers.ts';

let dir: string;
let speech: Pcm;
let tempBefore: string[];

/** A face-sized test card: a soft gradient with a moving disc, compressible like a portrait. */
async function* frames(
  w: number,
  h: number,
  o: { count?: number; delayMs?: number; onReturn?: () => void } = {},
) {
  try {
    for (let f = 0; o.count === undefined || f < o.count; f++) {
      if (o.delayMs) await new Promise((r) => setTimeout(r, o.delayMs));
      const b = new Uint8Array(w * h * 3);
      const cx = w / 2 + (w / 4) * Math.sin(f / 10);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const i = (y * w + x) * 3;
          const inside = (x - cx) ** 2 + (y - h / 2) ** 2 < (w / 6) ** 2;
          b[i] = inside ? 220 : (x * 255) / w;
          b[i + 1] = inside ? 170 : (y * 255) / h;
          b[i + 2] = inside ? 140 : 90;
        }
      yield b;
    }
  } finally {
    o.onReturn?.();
  }
}

function tone(seconds: number, rate = 24_000): Pcm {
  const samples = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < samples.length; i++) samples[i] = 0.3 * Math.sin((2 * Math.PI * 220 * i) / rate);
  return { samples, sampleRate: rate };
}

const leftovers = () => readdirSync(dir).filter((n) => n.includes('.part'));

beforeAll(async () => {
  tempBefore = projectTempEntries();
  dir = tmpDir();
  speech = (
    await espeakSpeak('Hello, this is a talking portrait made on a computer without a graphics card.', {
      voice: 'en-us',
      sampleRate: 24_000,
    })
  ).audio;
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  expect(projectTempEntries()).toEqual(tempBefore);
});

describe('encodeMp4', () => {
  it('makes an H.264 yuv420p + AAC MP4 at 512x512, 25 fps, as long as the speech, under both caps, faststart', async () => {
    const out = path.join(dir, 'talk.mp4');
    const progress: number[] = [];
    const r = await encodeMp4({
      frames: frames(512, 512),
      width: 512,
      height: 512,
      fps: 25,
      audio: speech,
      out,
      onProgress: (p) => progress.push(p),
    });
    const p = ffprobe(out);
    const video = p.streams.find((s) => s.codec_type === 'video')!;
    const audio = p.streams.find((s) => s.codec_type === 'audio')!;
    expect(video.codec_name).toBe('h264');
    expect(video.pix_fmt).toBe('yuv420p');
    expect([video.width, video.height]).toEqual([512, 512]);
    expect((video as { r_frame_rate?: string }).r_frame_rate).toBe('25/1');
    expect(audio.codec_name).toBe('aac');
    const speechS = durationS(speech);
    expect(Math.abs(Number(p.format.duration) - speechS)).toBeLessThan(0.1);
    expect(Math.abs(Number(video.duration) - speechS)).toBeLessThan(0.1);
    expect(Math.abs(Number(audio.duration) - speechS)).toBeLessThan(0.1);
    const bytes = statSync(out).size;
    expect(r).toEqual({ out, bytes, durationS: Number(p.format.duration), width: 512, height: 512 });
    expect(bytes).toBeLessThan(VIDEO_CAPS.discord);
    expect(bytes).toBeLessThan(VIDEO_CAPS.telegram);
    const file = readFileSync(out);
    expect(file.indexOf('moov')).toBeGreaterThan(0);
    expect(file.indexOf('moov')).toBeLessThan(file.indexOf('mdat')); // +faststart
    expect(progress.at(-1)).toBe(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(leftovers()).toEqual([]);
  });

  it('fits a tight cap by lowering the bitrate, then the size', async () => {
    const cap = 200 * 1024;
    const out = path.join(dir, 'tight.mp4');
    const r = await encodeMp4({
      frames: frames(512, 512),
      width: 512,
      height: 512,
      fps: 25,
      audio: tone(10),
      out,
      maxBytes: cap,
    });
    expect(r.width).toBeLessThan(512);
    expect(r.bytes).toBeLessThanOrEqual(cap);
    const v = ffprobe(out).streams.find((s) => s.codec_type === 'video')!;
    expect([v.width, v.height]).toEqual([r.width, r.height]);
    expect(Math.abs(Number(ffprobe(out).format.duration) - 10)).toBeLessThan(0.1);
  });

  it('a video that cannot fit even at the smallest size is refused before encoding', async () => {
    const err = await encodeMp4({
      frames: frames(512, 512),
      width: 512,
      height: 512,
      fps: 25,
      audio: tone(60),
      out: path.join(dir, 'impossible.mp4'),
      maxBytes: 100 * 1024,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.code).toBe('video_too_large');
    expect(readdirSync(dir).filter((n) => n.startsWith('impossible') || n.includes('.part'))).toEqual([]);
  });

  it('plans the full size for a minute of speech under either cap, smaller sizes only when needed', () => {
    for (const cap of Object.values(VIDEO_CAPS)) {
      const plan = planEncode({
        width: 512,
        height: 512,
        fps: 25,
        durationS: 60,
        audioRate: 24_000,
        maxBytes: cap,
      })!;
      expect([plan.width, plan.height]).toEqual([512, 512]);
      // Bits for the whole file stay within the cap: video bounded by VBV over duration + 1 s.
      expect((plan.videoBps * 61 + plan.audioBps * 60) / 8).toBeLessThan(cap);
    }
    expect(VIDEO_CAPS).toEqual({ discord: 10_485_760, telegram: 50_000_000 });
    const long = planEncode({
      width: 512,
      height: 512,
      fps: 25,
      durationS: 600,
      audioRate: 24_000,
      maxBytes: VIDEO_CAPS.discord,
    })!;
    expect(long.width).toBeLessThan(512);
  });

  it('cancel during encoding stops ffmpeg and the frame source, and leaves no output or temporary file', async () => {
    const out = path.join(dir, 'cancelled.mp4');
    const ac = new AbortController();
    let returned = false;
    let progress = 0;
    const p = encodeMp4({
      frames: frames(512, 512, { delayMs: 5, onReturn: () => (returned = true) }),
      width: 512,
      height: 512,
      fps: 25,
      audio: speech,
      out,
      signal: ac.signal,
      onProgress: (f) => {
        progress = f;
        if (f >= 0.2) ac.abort();
      },
    });
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    expect(progress).toBeGreaterThanOrEqual(0.2);
    expect(progress).toBeLessThan(1);
    expect(returned).toBe(true);
    expect(readdirSync(dir).filter((n) => n.startsWith('cancelled') || n.includes('.part'))).toEqual([]);
  });

  it('holds the last frame when the frames run out; stops taking frames when the audio ends', async () => {
    const short = path.join(dir, 'short.mp4');
    await encodeMp4({
      frames: frames(128, 128, { count: 5 }),
      width: 128,
      height: 128,
      fps: 25,
      audio: tone(2),
      out: short,
    });
    const v = ffprobe(short).streams.find((s) => s.codec_type === 'video')!;
    expect(Number(v.nb_frames)).toBe(50);
    let returned = false;
    await encodeMp4({
      frames: frames(128, 128, { onReturn: () => (returned = true) }),
      width: 128,
      height: 128,
      fps: 25,
      audio: tone(1),
      out: path.join(dir, 'endless.mp4'),
    });
    expect(returned).toBe(true);
  });

  it('odd output names are written as named; wrong frame sizes and options are refused, leaving nothing', async () => {
    for (const name of ["-y 'final' (1).mp4", 'pipe:1.mp4', '视频 说话.mp4']) {
      const out = path.join(dir, name);
      await encodeMp4({ frames: frames(64, 64), width: 64, height: 64, fps: 25, audio: tone(0.5), out });
      expect(
        ffprobe(out)
          .streams.map((s) => s.codec_name)
          .sort(),
      ).toEqual(['aac', 'h264']);
    }
    const bad = await encodeMp4({
      frames: (async function* () {
        yield new Uint8Array(10);
      })(),
      width: 64,
      height: 64,
      fps: 25,
      audio: tone(1),
      out: path.join(dir, 'bad.mp4'),
    }).catch((e) => e);
    expect(bad.code).toBe('bad_frame');
    await expect(
      encodeMp4({
        frames: frames(63, 64),
        width: 63,
        height: 64,
        fps: 25,
        audio: tone(1),
        out: path.join(dir, 'odd.mp4'),
      }),
    ).rejects.toMatchObject({ code: 'bad_encode_options' });
    await expect(
      encodeMp4({
        frames: frames(64, 64),
        width: 64,
        height: 64,
        fps: 25,
        audio: tone(0),
        out: path.join(dir, 'silent.mp4'),
      }),
    ).rejects.toMatchObject({ code: 'no_audio' });
    expect(readdirSync(dir).filter((n) => /^(bad|odd|silent)\.mp4$/.test(n) || n.includes('.part'))).toEqual(
      [],
    );
  });

  it('an encode past its deadline is killed, with media_timeout and no files left', async () => {
    const err = await encodeMp4({
      frames: frames(128, 128, { delayMs: 50 }),
      width: 128,
      height: 128,
      fps: 25,
      audio: tone(5),
      out: path.join(dir, 'slow.mp4'),
      tools: { ...mediaTools(), timeoutMs: 300 },
    }).catch((e) => e);
    expect(err.code).toBe('media_timeout');
    expect(readdirSync(dir).filter((n) => n.startsWith('slow') || n.includes('.part'))).toEqual([]);
  });

  it('a missing ffmpeg is NotAvailableError naming how to install it', async () => {
    const err = await encodeMp4({
      frames: frames(64, 64),
      width: 64,
      height: 64,
      fps: 25,
      audio: tone(1),
      out: path.join(dir, 'none.mp4'),
      tools: { ...mediaTools(), ffmpeg: '/nonexistent/ffmpeg' },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(NotAvailableError);
    expect(err.message).toContain('FACECHAIN_FFMPEG_PATH');
    expect(leftovers()).toEqual([]);
  });
});
