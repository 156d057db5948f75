/**
 * Classifier-free guidance (Ho & Salimans 2022) on a batched [uncond, cond] UNet output:
 *   eps = eps_u + scale * (eps_c - eps_u)
 * with optional guidance rescale (Lin et al. 2023, "Common Diffusion Noise Schedules and Sample
 * Steps are Flawed", eq. 15-16): match the guided result's standard deviation to the conditional
 * one's, blended by `rescale` in [0, 1]. Writes into dst; no allocation.
 */
export function applyGuidance(
  batched: Float32Array,
  scale: number,
  rescale: number,
  dst: Float32Array,
  /** Where this image's unconditional and conditional rows start (several images per batch). */
  uncondAt = 0,
  condAt = dst.length,
): Float32Array {
  const n = dst.length;
  for (let k = 0; k < n; k++) {
    const u = batched[uncondAt + k];
    dst[k] = u + scale * (batched[condAt + k] - u);
  }
  if (rescale > 0) {
    const stdC = std(batched, condAt, n);
    const stdG = std(dst, 0, n);
    if (stdG > 0) {
      const f = rescale * (stdC / stdG) + (1 - rescale);
      for (let k = 0; k < n; k++) dst[k] *= f;
    }
  }
  return dst;
}

/** Sample standard deviation (Bessel-corrected, as torch.std) of a[offset .. offset + n). */
function std(a: Float32Array, offset: number, n: number): number {
  let mean = 0;
  for (let k = 0; k < n; k++) mean += a[offset + k];
  mean /= n;
  let v = 0;
  for (let k = 0; k < n; k++) {
    const d = a[offset + k] - mean;
    v += d * d;
  }
  return Math.sqrt(v / Math.max(1, n - 1));
}
