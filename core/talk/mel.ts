/**
 * The mel spectrogram SadTalker's audio models were trained on (Wav2Lip's hparams): 16 kHz,
 * pre-emphasis 0.97, STFT with n_fft = window = 800 (periodic Hann), hop 200, centred frames
 * with reflect padding (librosa 0.9's default), magnitude -> 80 Slaney-normalised mel bands
 * 55-7600 Hz -> 20 log10(max(1e-5, x)) - 20 dB -> clip(8 (S + 100) / 100 - 4, -4, 4).
 * 80 spectrogram frames per second; video frame i reads the 16 frames starting at
 * int(80 (i - 2) / fps), clamped to the spectrogram (SadTalker's get_data).
 */
import { resample } from '../audio/wav.ts';
import type { PcmAudio } from './types.ts';

export const MEL_RATE = 16000;
export const N_FFT = 800;
export const HOP = 200;
export const N_MELS = 80;
export const MEL_STEP = 16;
const FMIN = 55;
const FMAX = 7600;
const PREEMPHASIS = 0.97;
const MIN_LEVEL_DB = -100;
const REF_LEVEL_DB = 20;
const MAX_ABS = 4;

function hzToMel(f: number): number {
  // Slaney's scale: linear below 1 kHz, logarithmic above.
  const fSp = 200 / 3;
  if (f < 1000) return f / fSp;
  return 1000 / fSp + Math.log(f / 1000) / (Math.log(6.4) / 27);
}

function melToHz(m: number): number {
  const fSp = 200 / 3;
  const minLogMel = 1000 / fSp;
  if (m < minLogMel) return m * fSp;
  return 1000 * Math.exp((Math.log(6.4) / 27) * (m - minLogMel));
}

let basis: Float32Array | undefined;

/** The [80, 401] mel filter bank (librosa.filters.mel, htk=False, norm='slaney'). */
export function melBasis(): Float32Array {
  if (basis) return basis;
  const bins = N_FFT / 2 + 1;
  const m0 = hzToMel(FMIN);
  const m1 = hzToMel(FMAX);
  const melF = Array.from({ length: N_MELS + 2 }, (_, i) => melToHz(m0 + ((m1 - m0) * i) / (N_MELS + 1)));
  const out = new Float32Array(N_MELS * bins);
  for (let m = 0; m < N_MELS; m++) {
    const lo = melF[m]!;
    const c = melF[m + 1]!;
    const hi = melF[m + 2]!;
    const enorm = 2 / (hi - lo);
    for (let k = 0; k < bins; k++) {
      const f = (k * MEL_RATE) / N_FFT;
      const w = Math.max(0, Math.min((f - lo) / (c - lo), (hi - f) / (hi - c)));
      out[m * bins + k] = w * enorm;
    }
  }
  basis = out;
  return out;
}

/**
 * A mixed-radix decimation-in-time FFT for the 800-point frames (800 = 2^5 * 5^2), recursive
 * over the smallest prime factor; twiddles from one table. Writes the spectrum of (re, im)
 * taken at offset, offset + stride, ... into (outRe, outIm).
 */
function fft(
  re: Float64Array,
  im: Float64Array,
  n: number,
  offset: number,
  stride: number,
  outRe: Float64Array,
  outIm: Float64Array,
  at: number,
  cos: Float64Array,
  sin: Float64Array,
  step: number,
): void {
  if (n === 1) {
    outRe[at] = re[offset]!;
    outIm[at] = im[offset]!;
    return;
  }
  const p = n % 2 === 0 ? 2 : n % 5 === 0 ? 5 : n % 3 === 0 ? 3 : n;
  const m = n / p;
  // Sub-transforms of the p decimated sequences, stored one after another at `at`.
  for (let r = 0; r < p; r++)
    fft(re, im, m, offset + r * stride, stride * p, outRe, outIm, at + r * m, cos, sin, step * p);
  const tr = new Float64Array(p);
  const ti = new Float64Array(p);
  const N = cos.length;
  for (let k = 0; k < m; k++) {
    for (let r = 0; r < p; r++) {
      tr[r] = outRe[at + r * m + k]!;
      ti[r] = outIm[at + r * m + k]!;
    }
    for (let q = 0; q < p; q++) {
      const kk = k + q * m;
      let sr = 0;
      let si = 0;
      for (let r = 0; r < p; r++) {
        // W = exp(-2 pi i r kk / n); n = N / step in table units.
        const idx = (r * kk * step) % N;
        const c = cos[idx]!;
        const s = sin[idx]!;
        sr += tr[r]! * c + ti[r]! * s;
        si += ti[r]! * c - tr[r]! * s;
      }
      outRe[at + kk] = sr;
      outIm[at + kk] = si;
    }
  }
}

let twiddles: { cos: Float64Array; sin: Float64Array } | undefined;

function twiddleTable(): { cos: Float64Array; sin: Float64Array } {
  if (!twiddles) {
    const cos = new Float64Array(N_FFT);
    const sin = new Float64Array(N_FFT);
    for (let j = 0; j < N_FFT; j++) {
      cos[j] = Math.cos((2 * Math.PI * j) / N_FFT);
      sin[j] = Math.sin((2 * Math.PI * j) / N_FFT);
    }
    twiddles = { cos, sin };
  }
  return twiddles;
}

/** Magnitudes of the real frame's first N/2 + 1 frequency bins. */
export function magnitudes(frame: Float64Array, out: Float32Array): void {
  const { cos, sin } = twiddleTable();
  const im = new Float64Array(N_FFT);
  const oRe = new Float64Array(N_FFT);
  const oIm = new Float64Array(N_FFT);
  fft(frame, im, N_FFT, 0, 1, oRe, oIm, 0, cos, sin, 1);
  for (let k = 0; k < out.length; k++) out[k] = Math.hypot(oRe[k]!, oIm[k]!);
}

/** The normalised mel spectrogram, frame-major: [frames, 80]. */
export function melSpectrogram(
  audio: PcmAudio,
  signal?: AbortSignal,
): { data: Float32Array; frames: number } {
  const x = resample(audio, MEL_RATE).samples;
  const n = x.length;
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = x[i]! - (i > 0 ? PREEMPHASIS * x[i - 1]! : 0);
  const pad = N_FFT / 2;
  // Reflect padding (no edge repeat), as numpy's 'reflect'.
  const at = (i: number): number => {
    let j = i - pad;
    if (n === 1) return y[0]!;
    while (j < 0 || j >= n) j = j < 0 ? -j : 2 * (n - 1) - j;
    return y[j]!;
  };
  const frames = 1 + Math.floor(n / HOP);
  const bins = N_FFT / 2 + 1;
  const window = new Float32Array(N_FFT);
  for (let i = 0; i < N_FFT; i++) window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / N_FFT);
  const mel = melBasis();
  const seg = new Float64Array(N_FFT);
  const mag = new Float32Array(bins);
  const out = new Float32Array(frames * N_MELS);
  const minLevel = 10 ** (MIN_LEVEL_DB / 20);
  for (let f = 0; f < frames; f++) {
    if (f % 200 === 0 && signal?.aborted) break;
    const start = f * HOP;
    for (let i = 0; i < N_FFT; i++) seg[i] = at(start + i) * window[i]!;
    magnitudes(seg, mag);
    for (let m = 0; m < N_MELS; m++) {
      let s = 0;
      const row = m * bins;
      for (let k = 0; k < bins; k++) s += mel[row + k]! * mag[k]!;
      const db = 20 * Math.log10(Math.max(minLevel, s)) - REF_LEVEL_DB;
      const v = (2 * MAX_ABS * (db - MIN_LEVEL_DB)) / -MIN_LEVEL_DB - MAX_ABS;
      out[f * N_MELS + m] = Math.max(-MAX_ABS, Math.min(MAX_ABS, v));
    }
  }
  return { data: out, frames };
}

/**
 * The mel window of each video frame, laid out as the audio model takes it: [frames, 1, 80, 16]
 * (mel band major, time minor).
 */
export function melWindows(
  spec: { data: Float32Array; frames: number },
  videoFrames: number,
  fps: number,
): Float32Array {
  const out = new Float32Array(videoFrames * N_MELS * MEL_STEP);
  const last = spec.frames - 1;
  for (let i = 0; i < videoFrames; i++) {
    // The same float expression as SadTalker's int(80. * (i - 2) / float(fps)) (int() truncates).
    const start = Math.trunc(80 * ((i - 2) / fps));
    for (let t = 0; t < MEL_STEP; t++) {
      const src = Math.min(Math.max(start + t, 0), last);
      for (let m = 0; m < N_MELS; m++)
        out[i * N_MELS * MEL_STEP + m * MEL_STEP + t] = spec.data[src * N_MELS + m]!;
    }
  }
  return out;
}
