/**
 * The init-image stage of img2img and inpainting: the init image encoded to latents, the mask at
 * latent resolution and, for 9-channel inpainting UNets, the latents of the masked image.
 */
import { type RgbImage, resizeRgb } from '../image/codec.ts';
import type { Vae } from './vae.ts';

export interface InitLatents {
  /** Scaled latents of the init image [4, h, w]. */
  init: Float32Array;
  /** 1 = repaint, per latent pixel [h, w]; only with a mask. */
  mask?: Float32Array;
  /** Latents of the init image with the repaint area blanked; only for 9-channel UNets. */
  masked?: Float32Array;
}

/** Block-average a mask image to latent resolution; 1 = repaint (luminance >= 0.5). */
export function latentMask(mask: RgbImage, h: number, w: number): Float32Array {
  const out = new Float32Array(h * w);
  const W = mask.width;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let dy = 0; dy < 8; dy++)
        for (let dx = 0; dx < 8; dx++) {
          const p = ((y * 8 + dy) * W + x * 8 + dx) * 3;
          s += mask.data[p] + mask.data[p + 1] + mask.data[p + 2];
        }
      out[y * w + x] = s / (64 * 3 * 255) >= 0.5 ? 1 : 0;
    }
  return out;
}

/** Encode the init image (and mask) at the output size; undefined for text-to-image. */
export async function encodeInitImage(
  vae: Vae,
  image: { initImage?: RgbImage; mask?: RgbImage },
  width: number,
  height: number,
  inpaintUnet: boolean,
): Promise<InitLatents | undefined> {
  if (!image.initImage) return undefined;
  const img = await resizeRgb(image.initImage, width, height);
  const out: InitLatents = { init: await vae.encode(img) };
  if (image.mask) {
    const m = await resizeRgb(image.mask, width, height);
    out.mask = latentMask(m, height / 8, width / 8);
    if (inpaintUnet) {
      // The masked image: repaint area blanked (0 in [-1, 1] terms is mid-grey; diffusers uses 0).
      const keep = { ...img, data: new Uint8Array(img.data) };
      for (let p = 0; p < img.width * img.height; p++) {
        const mv = (m.data[p * 3] + m.data[p * 3 + 1] + m.data[p * 3 + 2]) / (3 * 255);
        if (mv >= 0.5) keep.data[p * 3] = keep.data[p * 3 + 1] = keep.data[p * 3 + 2] = 128;
      }
      out.masked = await vae.encode(keep);
    }
  }
  return out;
}
