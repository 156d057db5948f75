/**
 * VAE decode (latents → RGB) and encode (RGB → latents), with the latent scaling factor from the
 * model's config (0.18215 for SD 1.x): the UNet works on scaled latents, the VAE on unscaled.
 * Images are [-1, 1] floats on the model side, 8-bit RGB (interleaved) on ours.
 */

import { ModelError } from '../../base/errors.ts';
import type { OnnxSession } from '../../models/onnx.ts';
import type { RgbImage } from '../image/codec.ts';
import { FloatFeed, inputType, readFloat } from './tensors.ts';

/** 8-bit interleaved RGB → planar [3, H, W] floats, mapped to [lo, hi]. */
export function rgbToPlanar(img: RgbImage, lo = -1, hi = 1): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  const s = (hi - lo) / 255;
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) out[c * n + p] = img.data[p * 3 + c] * s + lo;
  return out;
}

/** Planar [3, H, W] floats in [-1, 1] → 8-bit interleaved RGB (clamped, rounded). */
export function planarToRgb(data: Float32Array, width: number, height: number, offset = 0): RgbImage {
  const n = width * height;
  const out = new Uint8Array(3 * n);
  for (let p = 0; p < n; p++)
    for (let c = 0; c < 3; c++) {
      const v = Math.round((data[offset + c * n + p] / 2 + 0.5) * 255);
      out[p * 3 + c] = Math.max(0, Math.min(255, v));
    }
  return { data: out, width, height };
}

export class Vae {
  modelMs = 0;

  constructor(
    private readonly decoder: OnnxSession,
    private readonly encoder: OnnxSession | undefined,
    readonly scalingFactor: number,
  ) {}

  /** Scaled latents [4, h, w] → image of 8w x 8h. */
  async decode(latents: Float32Array, h: number, w: number): Promise<RgbImage> {
    const z = new Float32Array(latents.length);
    const inv = 1 / this.scalingFactor;
    for (let k = 0; k < z.length; k++) z[k] = latents[k] * inv;
    const feed = new FloatFeed(inputType(this.decoder.inputs, 'latent_sample'));
    const t0 = performance.now();
    const out = await this.decoder.run({ latent_sample: feed.tensor(z, [1, 4, h, w]) }, ['sample']);
    this.modelMs += performance.now() - t0;
    const s = out.sample;
    return planarToRgb(readFloat(s), s.dims[3], s.dims[2]);
  }

  /**
   * Image → scaled latents [4, H/8, W/8]. Exports that output the latent distribution
   * (optimum's latent_parameters: mean then log-variance) give their mean: deterministic, so the
   * same seed and init image reproduce the same result.
   */
  async encode(img: RgbImage): Promise<Float32Array> {
    if (!this.encoder)
      throw new ModelError(
        'model_missing_file',
        'This model folder has no vae_encoder/model.onnx, which img2img and inpainting need. Export it with the VAE encoder (docs/generation.md).',
      );
    const feed = new FloatFeed(inputType(this.encoder.inputs, 'sample'));
    const t0 = performance.now();
    const out = await this.encoder.run({
      sample: feed.tensor(rgbToPlanar(img), [1, 3, img.height, img.width]),
    });
    this.modelMs += performance.now() - t0;
    const t = out.latent_sample ?? out.latent_parameters ?? Object.values(out)[0];
    const data = readFloat(t);
    const [, , h, w] = t.dims;
    const z = new Float32Array(4 * h * w);
    for (let k = 0; k < z.length; k++) z[k] = data[k] * this.scalingFactor; // first 4 channels = mean
    return z;
  }
}
