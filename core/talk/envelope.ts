/**
 * The loudness envelope of speech, one value per video frame: RMS over a window of two frame
 * periods centred on the frame, in decibels, mapped onto 0..1 between a floor 30 dB under the
 * speech's loud level (its 95th percentile) and that level. Relative, so a quiet recording moves
 * the mouth as much as a loud one; silence (digital or room noise far under the speech) stays 0.
 */
import type { PcmAudio } from './types.ts';

const RANGE_DB = 30;
/** Anything under this is silence whatever the recording's level (-70 dBFS). */
const ABSOLUTE_FLOOR_DB = -70;

/** RMS level in dBFS of each frame's window. */
export function frameLevels(audio: PcmAudio, fps: number, frames: number): Float32Array {
  const { samples, sampleRate } = audio;
  const out = new Float32Array(frames);
  const half = Math.max(1, Math.round(sampleRate / fps));
  for (let i = 0; i < frames; i++) {
    const centre = Math.round(((i + 0.5) / fps) * sampleRate);
    const a = Math.max(0, centre - half);
    const b = Math.min(samples.length, centre + half);
    let s = 0;
    for (let k = a; k < b; k++) s += samples[k]! * samples[k]!;
    const rms = b > a ? Math.sqrt(s / (b - a)) : 0;
    out[i] = rms > 0 ? 20 * Math.log10(rms) : -120;
  }
  return out;
}

/** The 0..1 envelope per frame (see the module comment). */
export function speechEnvelope(audio: PcmAudio, fps: number, frames: number): Float32Array {
  const db = frameLevels(audio, fps, frames);
  const loud = percentile(db, 0.95);
  const floor = Math.max(ABSOLUTE_FLOOR_DB, loud - RANGE_DB);
  const out = new Float32Array(frames);
  if (loud <= ABSOLUTE_FLOOR_DB) return out;
  for (let i = 0; i < frames; i++) out[i] = Math.max(0, Math.min(1, (db[i]! - floor) / (loud - floor)));
  return out;
}

function percentile(v: Float32Array, q: number): number {
  const s = Float32Array.from(v).sort();
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))] ?? -120;
}

/** Gaussian smoothing of a per-frame curve (sigma in frames; edges clamped). */
export function smooth(v: Float32Array, sigma: number): Float32Array {
  if (sigma <= 0) return Float32Array.from(v);
  const r = Math.ceil(3 * sigma);
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) {
    k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
    sum += k[i + r]!;
  }
  const out = new Float32Array(v.length);
  const n = v.length;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = -r; j <= r; j++) s += k[j + r]! * v[Math.min(n - 1, Math.max(0, i + j))]!;
    out[i] = s / sum;
  }
  return out;
}
