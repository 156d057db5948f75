/**
 * PSNR of a result against its target, in dB, with the peak taken as the target's dynamic range
 * (max - min): the usual definition for signals that are not 8-bit images (latents).
 */
export function psnr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let mse = 0;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < expected.length; k++) {
    const d = actual[k] - expected[k];
    mse += d * d;
    if (expected[k] < lo) lo = expected[k];
    if (expected[k] > hi) hi = expected[k];
  }
  mse /= expected.length;
  if (mse === 0) return Number.POSITIVE_INFINITY;
  return 10 * Math.log10(((hi - lo) * (hi - lo)) / mse);
}
