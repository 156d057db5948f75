/**
 * Try-on masks and compositing: the garment's mask comes from the image's transparency (a cut-out
 * PNG/WebP); the inpainting mask is everything except the garment shrunk a little (FaceChain
 * erodes 15 px so the repainted person overlaps the garment's edge); after inpainting, the
 * original garment is pasted back through a feathered mask so its pixels stay exactly as sent.
 */
import { InputError } from '../../base/errors.ts';
import { featherBlend } from '../fusion/blend.ts';
import { erode, gaussianBlur } from '../fusion/mask.ts';
import type { Mask, RgbImage } from '../fusion/raster.ts';
import { cropToFloat, mask as newMask, pasteFloat, rgbImage } from '../fusion/raster.ts';

export const TRYON_DEFAULTS = {
  /** Alpha at or above which a pixel belongs to the garment. */
  alphaThreshold: 128,
  /** Erosion of the garment before the inpainting mask is taken (FaceChain: 15 px). */
  erodePx: 15,
  /** Gaussian sigma of the paste-back feather, in pixels. */
  featherSigma: 3,
  /** Below this share of the image the garment is too small to use. */
  minCoverage: 0.02,
} as const;

/** Binary garment mask from an alpha channel (one byte per pixel). */
export function garmentMaskFromAlpha(
  alpha: Uint8Array | undefined,
  width: number,
  height: number,
  opts: { alphaThreshold?: number; minCoverage?: number } = {},
): Mask {
  const threshold = opts.alphaThreshold ?? TRYON_DEFAULTS.alphaThreshold;
  const minCoverage = opts.minCoverage ?? TRYON_DEFAULTS.minCoverage;
  const cutOut = 'Send the garment as a PNG or WebP with a transparent background (the garment cut out).';
  if (!alpha) throw new InputError('garment_no_alpha', `The garment image has no transparency. ${cutOut}`);
  if (alpha.length !== width * height) {
    throw new InputError(
      'bad_alpha',
      `Alpha channel has ${alpha.length} values, expected ${width * height}.`,
    );
  }
  const m = newMask(width, height);
  let on = 0;
  for (let i = 0; i < alpha.length; i++) {
    if (alpha[i] >= threshold) {
      m.data[i] = 1;
      on++;
    }
  }
  if (on === alpha.length) {
    throw new InputError(
      'garment_no_alpha',
      `The garment image is fully opaque, so nothing marks the garment. ${cutOut}`,
    );
  }
  if (on < minCoverage * alpha.length) {
    throw new InputError(
      'garment_too_small',
      `The garment covers only ${((100 * on) / alpha.length).toFixed(1)}% of the image; send a photo where it fills more of the frame.`,
    );
  }
  return m;
}

/** Where the generator may repaint: 1 everywhere except the (eroded) garment. */
export function inpaintMask(garment: Mask, erodePx: number = TRYON_DEFAULTS.erodePx): Mask {
  const kept = erode(garment, erodePx);
  const out = newMask(garment.width, garment.height);
  for (let i = 0; i < out.data.length; i++) out.data[i] = 1 - kept.data[i];
  return out;
}

/**
 * Paste the garment back over the generated image through a feathered version of the eroded
 * garment mask (so the feather falls inside the garment and no background halo comes back).
 */
export function pasteGarment(
  generated: RgbImage,
  garment: RgbImage,
  garmentMask: Mask,
  opts: { featherSigma?: number } = {},
): RgbImage {
  const { width, height } = generated;
  if (
    garment.width !== width ||
    garment.height !== height ||
    garmentMask.width !== width ||
    garmentMask.height !== height
  ) {
    throw new InputError(
      'size_mismatch',
      `Generated image (${width}×${height}), garment (${garment.width}×${garment.height}) and mask (${garmentMask.width}×${garmentMask.height}) must be the same size.`,
    );
  }
  const sigma = opts.featherSigma ?? TRYON_DEFAULTS.featherSigma;
  // Shrink by the feather's reach (the kernel's 3σ radius) so the blurred edge stays on garment
  // pixels and no background from the garment photo comes back.
  const shrink = Math.ceil(3 * sigma);
  const alpha = gaussianBlur(shrink > 0 ? erode(garmentMask, shrink) : garmentMask, sigma);
  const rect = { x0: 0, y0: 0, x1: width, y1: height };
  const out = rgbImage(width, height);
  pasteFloat(out, rect, featherBlend(cropToFloat(generated, rect), cropToFloat(garment, rect), alpha));
  return out;
}
