/** Shared pieces of the talking-head tests: a real portrait with its analysis, speech-like audio, statistics. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Face, FaceAnalyzer } from '../../core/face/index.ts';
import { decodeImage, type RgbImage, rotateRgb } from '../../core/image/codec.ts';
import type { PcmAudio } from '../../core/talk/types.ts';

export const FACES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'faces');

export interface Portrait {
  image: RgbImage;
  face: Face;
}

/** A fixture photo, upright, with its largest face (embedding included). */
export async function portrait(analyzer: FaceAnalyzer, file = 'astronaut.png'): Promise<Portrait> {
  const decoded = await decodeImage(readFileSync(path.join(FACES, file)));
  const analysis = await analyzer.analyzeRgb(decoded, { embedding: true });
  const face = analysis.faces[0];
  if (!face) throw new Error(`no face in ${file}`);
  return { image: rotateRgb(decoded, analysis.rotation), face };
}

/**
 * Speech-like audio: a 140 Hz voice (harmonics with a little noise) whose loudness follows
 * syllables of 120-300 ms separated by short gaps and two longer pauses. Deterministic.
 */
export function syntheticSpeech(seconds: number, rate = 16000, seed = 7): PcmAudio {
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const n = Math.round(seconds * rate);
  const env = new Float32Array(n);
  let t = 0.15;
  while (t < seconds - 0.2) {
    const len = 0.12 + rand() * 0.18;
    const peak = 0.4 + rand() * 0.6;
    const a = Math.round(t * rate);
    const b = Math.min(n, Math.round((t + len) * rate));
    for (let i = a; i < b; i++) env[i] = peak * Math.sin((Math.PI * (i - a)) / (b - a)) ** 2;
    t += len + 0.04 + rand() * 0.1 + (rand() < 0.12 ? 0.4 : 0);
  }
  const samples = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const ph = (2 * Math.PI * 140 * i) / rate;
    const voice = Math.sin(ph) + 0.6 * Math.sin(2 * ph) + 0.35 * Math.sin(3 * ph) + 0.2 * Math.sin(5 * ph);
    samples[i] = 0.3 * env[i]! * (voice / 2.15 + 0.1 * (rand() * 2 - 1));
  }
  return { samples, sampleRate: rate };
}

export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = Math.min(x.length, y.length);
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/** Inner-lip opening (mean of the 61-67, 62-66, 63-65 distances) of 68 landmarks. */
export function lipGap(lm: readonly (readonly [number, number])[]): number {
  let s = 0;
  for (const [a, b] of [
    [61, 67],
    [62, 66],
    [63, 65],
  ] as const)
    s += Math.hypot(lm[a]![0] - lm[b]![0], lm[a]![1] - lm[b]![1]);
  return s / 3;
}

export async function collect(frames: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const f of frames) out.push(f);
  return out;
}
