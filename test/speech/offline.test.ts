/** The offline voice for real: eSpeak NG as a separate process, its audio, and its word and phoneme timing. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, NotAvailableError } from '../../base/errors.ts';
import { durationS, envelope } from '../../core/audio/pcm.ts';
import { espeakSpeak } from '../../core/speech/espeak.ts';
import type { SpeechTiming } from '../../core/speech/timing.ts';
import { projectTempEntries } from '../media/helpers.ts';

const words = (t: SpeechTiming[] | undefined) => (t ?? []).filter((x) => x.kind === 'word');
let tempBefore: string[];

beforeAll(() => {
  tempBefore = projectTempEntries();
});

afterAll(() => {
  // Every run removed its private folder, also the cancelled and failing ones.
  expect(projectTempEntries()).toEqual(tempBefore);
});

describe('offline voice (eSpeak NG)', () => {
  it('speaks English at the requested rate, loudness-normalised, with words in order', async () => {
    const r = await espeakSpeak('Hello world, this is the offline voice.', {
      voice: 'en-us',
      sampleRate: 24_000,
      timing: true,
    });
    expect(r.audio.sampleRate).toBe(24_000);
    const d = durationS(r.audio);
    expect(d).toBeGreaterThan(1.2);
    expect(d).toBeLessThan(5);
    let peak = 0;
    for (const s of r.audio.samples) peak = Math.max(peak, Math.abs(s));
    expect(peak).toBeLessThanOrEqual(10 ** (-1 / 20) + 1e-4);
    expect(peak).toBeGreaterThan(0.3);
    const w = words(r.timing);
    expect(w.map((x) => x.text)).toEqual(['Hello', 'world', 'this', 'is', 'the', 'offline', 'voice']);
    for (let i = 0; i < w.length; i++) {
      expect(w[i]!.end).toBeGreaterThan(w[i]!.start);
      if (i > 0) expect(w[i]!.start).toBeGreaterThanOrEqual(w[i - 1]!.end - 1e-9);
    }
    expect(w.at(-1)!.end).toBeLessThanOrEqual(d + 0.05);
  });

  it('word timing matches the audio: each word is loud, the pauses between comma-separated words are quiet', async () => {
    const r = await espeakSpeak('Apple, banana, cherry, melon, orange, grape.', {
      voice: 'en-us',
      sampleRate: 16_000,
      timing: true,
    });
    const w = words(r.timing);
    expect(w).toHaveLength(6);
    const fps = 100;
    const env = envelope(r.audio, fps);
    const max = Math.max(...env);
    const at = (t: number) => env[Math.min(env.length - 1, Math.max(0, Math.round(t * fps)))]!;
    for (const x of w) {
      const inside = env.slice(Math.floor(x.start * fps), Math.ceil(x.end * fps));
      expect(Math.max(...inside), `${x.text} is heard inside its interval`).toBeGreaterThan(0.3 * max);
    }
    // The comma pauses: the middle of the gap between words is near silence.
    for (let i = 1; i < w.length; i++) {
      const mid = (w[i - 1]!.end + w[i]!.start) / 2;
      expect(at(mid), `pause before ${w[i]!.text}`).toBeLessThan(0.1 * max);
    }
    // Nearly all loud frames fall inside some word.
    let loud = 0;
    let covered = 0;
    env.forEach((e, f) => {
      if (e < 0.2 * max) return;
      loud++;
      const t = (f + 0.5) / fps;
      if (w.some((x) => t >= x.start - 0.03 && t <= x.end + 0.03)) covered++;
    });
    expect(covered / loud).toBeGreaterThan(0.9);
  });

  it('phonemes (IPA) lie inside their words and follow the pronunciation', async () => {
    const r = await espeakSpeak('Mama papa', { voice: 'en-us', sampleRate: 16_000, timing: true });
    const w = words(r.timing);
    const p = (r.timing ?? []).filter((x) => x.kind === 'phoneme');
    expect(p.map((x) => x.text).join('')).toMatch(/^m.*m.*p.*p/);
    for (const x of p) expect(w.some((y) => x.start >= y.start - 1e-9 && x.end <= y.end + 1e-9)).toBe(true);
    expect(p.filter((x) => x.text === 'm').length).toBeGreaterThanOrEqual(2);
  });

  it('speaks Chinese with the pinyin voice, one timed syllable per character', async () => {
    const r = await espeakSpeak('你好世界，今天天气很好。', {
      voice: 'cmn-latn-pinyin',
      sampleRate: 24_000,
      timing: true,
    });
    expect(durationS(r.audio)).toBeGreaterThan(1.5);
    expect(words(r.timing).map((x) => x.text)).toEqual([
      '你',
      '好',
      '世',
      '界',
      '今',
      '天',
      '天',
      '气',
      '很',
      '好',
    ]);
  });

  it('rate changes the length; text that looks like options or markup is read as text', async () => {
    const text = 'One two three four five six seven eight.';
    const fast = await espeakSpeak(text, { voice: 'en-us', sampleRate: 16_000, ratePercent: 80 });
    const slow = await espeakSpeak(text, { voice: 'en-us', sampleRate: 16_000, ratePercent: -40 });
    expect(durationS(slow.audio)).toBeGreaterThan(durationS(fast.audio) * 1.8);

    const hostile = await espeakSpeak(
      `--help -v xx <speak><voice name="x">hi</voice></speak> "quoted" 'single'`,
      {
        voice: 'en-us',
        sampleRate: 16_000,
        timing: true,
      },
    );
    // Read aloud (several seconds), not taken as --help (which prints and speaks nothing).
    expect(durationS(hostile.audio)).toBeGreaterThan(2);
    const heard = words(hostile.timing).map((x) => x.text);
    expect(heard.slice(0, 3)).toEqual(['help', 'v', 'xx']);
    expect(heard.some((x) => x.includes('voice'))).toBe(true);
  });

  it('a missing program is NotAvailableError naming the setting; cancel is CancelledError', async () => {
    const err = await espeakSpeak('hi', {
      voice: 'en-us',
      sampleRate: 16_000,
      exe: '/nonexistent/espeak-ng',
    }).catch((e) => e);
    expect(err).toBeInstanceOf(NotAvailableError);
    expect(err.message).toContain('FACECHAIN_ESPEAK_PATH');
    const ac = new AbortController();
    ac.abort();
    await expect(
      espeakSpeak('hi', { voice: 'en-us', sampleRate: 16_000, signal: ac.signal }),
    ).rejects.toBeInstanceOf(CancelledError);
  });
});
