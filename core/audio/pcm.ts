/** Mono floating-point audio, the form every speech and audio path hands to the animators and the encoder. */

export interface Pcm {
  /** Mono samples in -1..1. */
  samples: Float32Array;
  sampleRate: number;
}

export function durationS(pcm: Pcm): number {
  return pcm.samples.length / pcm.sampleRate;
}

/** Target of loudness normalisation: RMS of the active (non-silent) part, dBFS. */
export const TARGET_ACTIVE_RMS_DBFS = -20;
/** Peak ceiling after normalisation, dBFS. */
export const PEAK_CEILING_DBFS = -1;
/** Most gain applied: quiet recordings are lifted, noise floors are not blown up. */
export const MAX_GAIN_DB = 30;

const dbToLin = (db: number) => 10 ** (db / 20);
const linToDb = (v: number) => 20 * Math.log10(v);

/**
 * One linear gain so the active part's RMS reaches -20 dBFS, capped so the peak stays at or
 * under -1 dBFS and the gain at +30 dB. Active = 20 ms frames within 40 dB of the loudest frame
 * and above -60 dBFS (pauses do not drag the level down). A single gain keeps the envelope's
 * shape, which the animators read as mouth opening. Returns the gain applied (dB).
 */
export function normalizeLoudness(pcm: Pcm): { pcm: Pcm; gainDb: number } {
  const s = pcm.samples;
  const frame = Math.max(1, Math.round(pcm.sampleRate * 0.02));
  const energies: number[] = [];
  let peak = 0;
  for (let i = 0; i < s.length; i += frame) {
    let e = 0;
    const end = Math.min(s.length, i + frame);
    for (let j = i; j < end; j++) {
      const v = s[j]!;
      e += v * v;
      const a = Math.abs(v);
      if (a > peak) peak = a;
    }
    energies.push(e / (end - i));
  }
  const loudest = Math.max(0, ...energies);
  if (peak === 0 || loudest < dbToLin(-60) ** 2) return { pcm, gainDb: 0 };
  const floor = Math.max(loudest * dbToLin(-40) ** 2, dbToLin(-60) ** 2);
  let sum = 0;
  let n = 0;
  for (const e of energies)
    if (e >= floor) {
      sum += e;
      n++;
    }
  const activeRmsDb = linToDb(Math.sqrt(sum / n));
  const gainDb = Math.min(
    TARGET_ACTIVE_RMS_DBFS - activeRmsDb,
    PEAK_CEILING_DBFS - linToDb(peak),
    MAX_GAIN_DB,
  );
  const g = dbToLin(gainDb);
  const out = new Float32Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s[i]! * g;
  return { pcm: { samples: out, sampleRate: pcm.sampleRate }, gainDb };
}

/** RMS per video frame (`fps` frames a second), for envelope-driven animation and tests. */
export function envelope(pcm: Pcm, fps: number): Float32Array {
  const n = Math.ceil((pcm.samples.length * fps) / pcm.sampleRate);
  const out = new Float32Array(n);
  for (let f = 0; f < n; f++) {
    const a = Math.floor((f * pcm.sampleRate) / fps);
    const b = Math.min(pcm.samples.length, Math.floor(((f + 1) * pcm.sampleRate) / fps));
    let e = 0;
    for (let i = a; i < b; i++) e += pcm.samples[i]! ** 2;
    out[f] = b > a ? Math.sqrt(e / (b - a)) : 0;
  }
  return out;
}

/** 16-bit PCM WAV bytes (for saving speech, and for tools that want a file). */
export function toWav(pcm: Pcm): Uint8Array {
  const n = pcm.samples.length;
  const buf = new ArrayBuffer(44 + n * 2);
  const v = new DataView(buf);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) v.setUint8(at + i, s.charCodeAt(i));
  };
  ascii(0, 'RIFF');
  v.setUint32(4, 36 + n * 2, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, pcm.sampleRate, true);
  v.setUint32(28, pcm.sampleRate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  ascii(36, 'data');
  v.setUint32(40, n * 2, true);
  for (let i = 0; i < n; i++) {
    const x = Math.max(-1, Math.min(1, pcm.samples[i]!));
    v.setInt16(44 + i * 2, Math.round(x * 32767), true);
  }
  return new Uint8Array(buf);
}

/** Little-endian float32 bytes of the samples (what ffmpeg reads as `-f f32le`). */
export function toF32le(pcm: Pcm): Uint8Array {
  const out = new Uint8Array(pcm.samples.length * 4);
  const v = new DataView(out.buffer);
  for (let i = 0; i < pcm.samples.length; i++) v.setFloat32(i * 4, pcm.samples[i]!, true);
  return out;
}

/** Samples from little-endian float32 bytes. */
export function fromF32le(bytes: Uint8Array, sampleRate: number): Pcm {
  const n = Math.floor(bytes.byteLength / 4);
  const samples = new Float32Array(n);
  const v = new DataView(bytes.buffer, bytes.byteOffset, n * 4);
  for (let i = 0; i < n; i++) samples[i] = v.getFloat32(i * 4, true);
  return { samples, sampleRate };
}
