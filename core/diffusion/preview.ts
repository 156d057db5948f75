/**
 * Cheap progress previews: a linear map from SD 1.x latents to RGB (4x3 factors fitted by the
 * community for live previews, as used by ComfyUI and the A1111 web UI), at latent resolution
 * (1/8 of the image). Costs microseconds, needs no VAE run; good enough for a chat progress image.
 */
import type { RgbImage } from '../image/codec.ts';

const FACTORS = [
  [0.3512, 0.2297, 0.3227],
  [0.325, 0.4974, 0.235],
  [-0.2829, 0.1762, 0.2721],
  [-0.212, -0.2616, -0.7177],
];

/** latents [4, h, w] (scaled, as the UNet sees them) → RGB image of h x w pixels. */
export function latentPreview(latents: Float32Array, h: number, w: number): RgbImage {
  const out = new Uint8Array(h * w * 3);
  const plane = h * w;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      let v = 0;
      for (let k = 0; k < 4; k++) v += latents[k * plane + p] * FACTORS[k][c];
      const x = Math.round(((v + 1) / 2) * 255);
      out[p * 3 + c] = Math.max(0, Math.min(255, x));
    }
  }
  return { data: out, width: w, height: h };
}
