/**
 * Colour transfer (Reinhard et al.): match the mean and spread of the warped face to the target
 * skin, per channel in CIE Lab, measured only inside the face mask, so lighting and skin tone
 * follow the target image while the face's own detail stays.
 */
import type { FloatRgb, Mask } from './raster.ts';

// D65 white.
const XN = 0.95047;
const YN = 1.0;
const ZN = 1.08883;

function toLinear(c: number): number {
  const v = c / 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

function toSrgb(v: number): number {
  const c = v <= 0.0031308 ? 12.92 * v : 1.055 * Math.max(v, 0) ** (1 / 2.4) - 0.055;
  return c * 255;
}

const E = 216 / 24389;
const K = 24389 / 27;
function fLab(t: number): number {
  return t > E ? Math.cbrt(t) : (K * t + 16) / 116;
}
function fInv(t: number): number {
  const t3 = t * t * t;
  return t3 > E ? t3 : (116 * t - 16) / K;
}

/** RGB (0..255) to Lab, in place on a copy: returns L (0..100), a, b interleaved. */
export function rgbToLab(img: FloatRgb): Float32Array {
  const src = img.data;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i += 3) {
    const r = toLinear(src[i]);
    const g = toLinear(src[i + 1]);
    const b = toLinear(src[i + 2]);
    const fx = fLab((0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / XN);
    const fy = fLab((0.2126729 * r + 0.7151522 * g + 0.072175 * b) / YN);
    const fz = fLab((0.0193339 * r + 0.119192 * g + 0.9503041 * b) / ZN);
    out[i] = 116 * fy - 16;
    out[i + 1] = 500 * (fx - fy);
    out[i + 2] = 200 * (fy - fz);
  }
  return out;
}

/** Lab back to RGB (0..255, not clamped), written into `img`. */
export function labToRgbInto(lab: Float32Array, img: FloatRgb): void {
  const dst = img.data;
  for (let i = 0; i < lab.length; i += 3) {
    const fy = (lab[i] + 16) / 116;
    const fx = fy + lab[i + 1] / 500;
    const fz = fy - lab[i + 2] / 200;
    const x = fInv(fx) * XN;
    const y = fInv(fy) * YN;
    const z = fInv(fz) * ZN;
    dst[i] = toSrgb(3.2404542 * x - 1.5371385 * y - 0.4985314 * z);
    dst[i + 1] = toSrgb(-0.969266 * x + 1.8760108 * y + 0.041556 * z);
    dst[i + 2] = toSrgb(0.0556434 * x - 0.2040259 * y + 1.0572252 * z);
  }
}

export interface ChannelStats {
  mean: [number, number, number];
  std: [number, number, number];
  /** Sum of mask weights the statistics were taken over. */
  weight: number;
}

/** Weighted per-channel mean and standard deviation of interleaved 3-channel data under a mask. */
export function maskedStats(data: Float32Array, m: Mask): ChannelStats {
  const s = [0, 0, 0];
  const s2 = [0, 0, 0];
  let wsum = 0;
  const md = m.data;
  for (let p = 0, i = 0; p < md.length; p++, i += 3) {
    const w = md[p];
    if (w <= 0) continue;
    wsum += w;
    for (let c = 0; c < 3; c++) {
      const v = data[i + c];
      s[c] += w * v;
      s2[c] += w * v * v;
    }
  }
  const mean: [number, number, number] = [0, 0, 0];
  const std: [number, number, number] = [0, 0, 0];
  if (wsum > 0) {
    for (let c = 0; c < 3; c++) {
      mean[c] = s[c] / wsum;
      std[c] = Math.sqrt(Math.max(0, s2[c] / wsum - mean[c] * mean[c]));
    }
  }
  return { mean, std, weight: wsum };
}

export interface ColorTransferOptions {
  /** Limits on the spread ratio target/source per channel, so a flat patch is not blown up. */
  minGain?: number;
  maxGain?: number;
}

/**
 * Shift and scale `src` (in place, every pixel) so that, inside mask `m`, its Lab statistics
 * equal those of `ref` inside the same mask. Both images share the mask's frame.
 */
export function transferColor(src: FloatRgb, ref: FloatRgb, m: Mask, opts: ColorTransferOptions = {}): void {
  const minGain = opts.minGain ?? 0.5;
  const maxGain = opts.maxGain ?? 2;
  const srcLab = rgbToLab(src);
  const refLab = rgbToLab(ref);
  const a = maskedStats(srcLab, m);
  const b = maskedStats(refLab, m);
  if (a.weight === 0 || b.weight === 0) return;
  const gain = [0, 1, 2].map((c) => {
    const g = a.std[c] > 1e-6 ? b.std[c] / a.std[c] : 1;
    return Math.min(maxGain, Math.max(minGain, g));
  });
  for (let i = 0; i < srcLab.length; i += 3) {
    for (let c = 0; c < 3; c++) srcLab[i + c] = (srcLab[i + c] - a.mean[c]) * gain[c] + b.mean[c];
  }
  labToRgbInto(srcLab, src);
}
