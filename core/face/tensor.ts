/** Packing interleaved 8-bit pixels into the planar float tensors the face models take. */

/** RGB bytes (HWC) -> planar CHW floats, (v / scale - mean[c]) / std[c]. */
export function rgbToChw(
  rgb: Uint8Array,
  pixels: number,
  mean: readonly [number, number, number],
  std: readonly [number, number, number],
  scale = 1,
): Float32Array {
  const out = new Float32Array(pixels * 3);
  const m0 = mean[0] * scale;
  const m1 = mean[1] * scale;
  const m2 = mean[2] * scale;
  const k0 = 1 / (std[0] * scale);
  const k1 = 1 / (std[1] * scale);
  const k2 = 1 / (std[2] * scale);
  for (let i = 0, j = 0; i < pixels; i++, j += 3) {
    out[i] = (rgb[j]! - m0) * k0;
    out[pixels + i] = (rgb[j + 1]! - m1) * k1;
    out[2 * pixels + i] = (rgb[j + 2]! - m2) * k2;
  }
  return out;
}

/** Grey bytes -> floats times a factor. */
export function greyToFloat(grey: Uint8Array, factor: number): Float32Array {
  const out = new Float32Array(grey.length);
  for (let i = 0; i < grey.length; i++) out[i] = grey[i]! * factor;
  return out;
}

export function softmax(values: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]!);
  const exps = Array.from(values, (v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** ImageNet normalisation in 0..255 units. */
export const IMAGENET_MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255] as const;
export const IMAGENET_STD = [0.229 * 255, 0.224 * 255, 0.225 * 255] as const;
