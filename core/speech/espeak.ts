/**
 * The offline voice: eSpeak NG (GPL-3.0) run as a separate program, never linked; text goes in on
 * stdin (never as arguments, so text starting with "-" stays text), without `-m`, so markup in
 * it is read, not obeyed. Timing: words aligned (align.ts), phonemes from its `--ipa` output
 * spread inside each word.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FacechainError, NotAvailableError, throwIfAborted } from '../../base/errors.ts';
import { log } from '../../base/log.ts';
import { normalizeLoudness, type Pcm } from '../audio/pcm.ts';
import { parseWav, resample } from '../audio/wav.ts';
import { config } from '../config.ts';
import { runChild } from '../media/child.ts';
import { alignWords } from './align.ts';
import { mergeTimings, type SpeechTiming, speechTokens, splitIpa, spreadPhonemes } from './timing.ts';

export interface EspeakOptions {
  /** eSpeak NG voice name (en-us, cmn-latn-pinyin, ...). */
  voice: string;
  /** Rate change in percent (-50..100) and pitch change in Hz (-50..50), mapped approximately. */
  ratePercent?: number;
  pitchHz?: number;
  sampleRate: number;
  /** Compute word and phoneme timing (a second, quick eSpeak run and an alignment). */
  timing?: boolean;
  signal?: AbortSignal;
  exe?: string;
  timeoutMs?: number;
}

const BASE_WPM = 175;

export function espeakPath(): string {
  return config().FACECHAIN_ESPEAK_PATH ?? 'espeak-ng';
}

const missing = (exe: string) => () =>
  new NotAvailableError(
    'The offline voice',
    `eSpeak NG was not found (${exe}). Install it (Debian: apt-get install espeak-ng) or set FACECHAIN_ESPEAK_PATH.`,
    { program: 'espeak-ng' },
  );

function voiceArgs(o: EspeakOptions): string[] {
  const wpm = Math.round(Math.min(450, Math.max(80, BASE_WPM * (1 + (o.ratePercent ?? 0) / 100))));
  const pitch = Math.round(Math.min(99, Math.max(0, 50 + (o.pitchHz ?? 0))));
  return ['-v', o.voice, '-s', String(wpm), '-p', String(pitch), '-b', '1'];
}

async function run(exe: string, args: string[], stdin: string, o: EspeakOptions) {
  const r = await runChild(exe, args, {
    name: 'espeak-ng',
    stdin,
    timeoutMs: o.timeoutMs ?? 60_000,
    signal: o.signal,
    missing: missing(exe),
    maxStdoutBytes: 4 * 1024 * 1024,
  });
  if (r.code !== 0)
    throw new FacechainError(
      'espeak_failed',
      `eSpeak NG failed (exit ${r.code}): ${r.stderr.trim().slice(0, 200)}`,
    );
  return r.stdout.toString('utf8');
}

/** Speak cleaned text with eSpeak NG; audio at `sampleRate`, loudness-normalised. */
export async function espeakSpeak(
  text: string,
  o: EspeakOptions,
): Promise<{ audio: Pcm; timing?: SpeechTiming[] }> {
  throwIfAborted(o.signal);
  const exe = o.exe ?? espeakPath();
  // Synthetic speech only (no user's voice), in a private folder removed in `finally`.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facechain-espeak-'));
  try {
    const main = path.join(dir, 'speech.wav');
    await run(exe, [...voiceArgs(o), '-w', main, '--stdin'], text, o);
    // eSpeak's own WAV (16-bit mono), read here: no decoder process needed for the offline voice.
    const raw = parseWav(await readFile(main));
    const audio = normalizeLoudness(resample(raw, o.sampleRate)).pcm;
    if (!o.timing) return { audio };
    const timing = await espeakTiming(exe, text, raw, dir, o);
    return timing ? { audio, timing } : { audio };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function espeakTiming(
  exe: string,
  text: string,
  spoken: Pcm,
  dir: string,
  o: EspeakOptions,
): Promise<SpeechTiming[] | undefined> {
  const tokens = speechTokens(text);
  if (tokens.length === 0) return undefined;
  // One word per line, each line its own clause (-l): isolated words with pauses between them.
  const isolatedWav = path.join(dir, 'words.wav');
  const ipa = await run(
    exe,
    [...voiceArgs(o), '-l', '100000', '--ipa', '--sep=_', '-w', isolatedWav],
    `${tokens.join('\n')}\n`,
    o,
  );
  const lines = ipa.split('\n').filter((l) => l.trim().length > 0);
  const isolated = parseWav(await readFile(isolatedWav));
  const spans = alignWords(isolated, spoken, tokens.length);
  if (!spans) {
    log('speech').debug({ words: tokens.length }, 'offline voice: words could not be separated; no timing');
    return undefined;
  }
  const words: SpeechTiming[] = spans.map((s, i) => ({ ...s, text: tokens[i]!, kind: 'word' }));
  // Phonemes only when eSpeak printed one line per word (a token read as two clauses breaks it).
  const phonemes =
    lines.length === tokens.length ? words.flatMap((w, i) => spreadPhonemes(w, splitIpa(lines[i]!))) : [];
  return mergeTimings(words, phonemes);
}

/** IPA phonemes of each word (one eSpeak run, no audio), for timing the online voice's words. */
export async function espeakPhonemes(
  words: readonly string[],
  o: { voice: string; signal?: AbortSignal; exe?: string },
): Promise<string[][] | undefined> {
  const tokens = words.map((w) => speechTokens(w).join(' '));
  if (tokens.some((t) => t === '')) return undefined;
  const exe = o.exe ?? espeakPath();
  const out = await run(
    exe,
    ['-v', o.voice, '-q', '-l', '100000', '--ipa', '--sep=_', '-b', '1'],
    `${tokens.join('\n')}\n`,
    {
      voice: o.voice,
      sampleRate: 16_000,
      ...(o.signal ? { signal: o.signal } : {}),
    },
  );
  const lines = out.split('\n').filter((l) => l.trim().length > 0);
  if (lines.length !== tokens.length) return undefined;
  return lines.map(splitIpa);
}
