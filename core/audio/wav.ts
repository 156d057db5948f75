/**
 * Reading WAV files our own tools write (eSpeak NG's 16-bit mono output) without a decoder
 * process, and band-limited resampling. User uploads go through decode.ts (ffmpeg) instead.
 */
import { FacechainError } from '../../base/errors.ts';
import type { Pcm } from './pcm.ts';

/** PCM (8/16/24/32-bit) or float32 WAV to mono. A streaming header's oversized data length is cut to the file. */
export function parseWav(bytes: Uint8Array): Pcm {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  const bad = (why: string) => new FacechainError('bad_wav', `Not a readable WAV file: ${why}.`);
  if (bytes.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw bad('no RIFF/WAVE header');
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  let at = 12;
  while (at + 8 <= bytes.byteLength) {
    const id = tag(at);
    const size = v.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16) throw bad('short fmt chunk');
      let format = v.getUint16(body, true);
      if (format === 0xfffe && size >= 40) format = v.getUint16(body + 24, true); // WAVE_FORMAT_EXTENSIBLE
      fmt = {
        format,
        channels: v.getUint16(body + 2, true),
        rate: v.getUint32(body + 4, true),
        bits: v.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!fmt) throw bad('data before fmt');
      const { format, channels, rate, bits } = fmt;
      if (channels < 1 || rate < 1) throw bad('no channels');
      if (!((format === 1 && [8, 16, 24, 32].includes(bits)) || (format === 3 && bits === 32)))
        throw bad(`format ${format} with ${bits} bits`);
      const end = Math.min(bytes.byteLength, body + size);
      const width = bits / 8;
      const frames = Math.floor((end - body) / (width * channels));
      const samples = new Float32Array(frames);
      for (let f = 0; f < frames; f++) {
        let sum = 0;
        for (let c = 0; c < channels; c++) {
          const p = body + (f * channels + c) * width;
          if (format === 3) sum += v.getFloat32(p, true);
          else if (bits === 8) sum += (v.getUint8(p) - 128) / 128;
          else if (bits === 16) sum += v.getInt16(p, true) / 32768;
          else if (bits === 24)
            sum += (v.getUint8(p) | (v.getUint8(p + 1) << 8) | (v.getInt8(p + 2) << 16)) / 8388608;
          else sum += v.getInt32(p, true) / 2147483648;
        }
        samples[f] = sum / channels;
      }
      return { samples, sampleRate: rate };
    }
    at = body + size + (size % 2);
  }
  throw bad('no data chunk');
}

const HALF_TAPS = 16;

/** Windowed-sinc (Blackman) resampling, low-passed at the lower rate's Nyquist frequency. */
export function resample(pcm: Pcm, rate: number): Pcm {
  if (pcm.sampleRate === rate) return pcm;
  const ratio = pcm.sampleRate / rate;
  const cutoff = Math.min(1, 1 / ratio);
  const x = pcm.samples;
  const n = Math.floor(x.length / ratio);
  const out = new Float32Array(n);
  const half = Math.ceil(HALF_TAPS / cutoff);
  for (let i = 0; i < n; i++) {
    const t = i * ratio;
    const k0 = Math.floor(t);
    let acc = 0;
    let norm = 0;
    for (let k = k0 - half + 1; k <= k0 + half; k++) {
      const d = t - k;
      const w = 0.42 + 0.5 * Math.cos((Math.PI * d) / half) + 0.08 * Math.cos((2 * Math.PI * d) / half);
      const arg = Math.PI * d * cutoff;
      const h = (arg === 0 ? 1 : Math.sin(arg) / arg) * w;
      norm += h;
      if (k >= 0 && k < x.length) acc += x[k]! * h;
    }
    out[i] = acc / norm;
  }
  return { samples: out, sampleRate: rate };
}
