/**
 * Virtual try-on (FaceChain v1.2+): keep a garment exactly, repaint the person and background
 * around it with the user's identity, paste the garment back through a feathered mask, then
 * fuse the user's face in.
 *
 * The repainting is the generation engine's job (core/diffusion SdPipeline with an init image
 * and a mask); the identity comes from whatever the caller merged into that pipeline (face LoRA
 * 0.95, style LoRA 0.05 in FaceChain). Without a generator this fails with NotAvailableError.
 * The garment mask comes from the image's transparency, or from garmentMask() (garment-mask.ts:
 * a product photo, or the garment as worn by someone); with the wearer's OpenPose skeleton
 * (core/pose) the repainted body follows their pose through the OpenPose ControlNet at weight
 * 1.0, as in FaceChain's recipe.
 */

import { InputError, NotAvailableError, throwIfAborted } from '../../base/errors.ts';
import type { InpaintGenerator } from '../diffusion/generate.ts';
import type { ImageAnalysis } from '../face/index.ts';
import { fusionInput } from '../fusion/faces.ts';
import type { FaceFuser, FaceInImage } from '../fusion/fuser.ts';
import { LandmarkFuser } from '../fusion/fuser.ts';
import type { Mask, RgbImage } from '../fusion/raster.ts';
import { mask as newMask } from '../fusion/raster.ts';
import { resizeRgb } from '../image/codec.ts';
import { likenessAt } from '../rank/likeness.ts';
import { garmentMaskFromAlpha, inpaintMask, pasteGarment, TRYON_DEFAULTS } from './garment.ts';

export interface TryOnAnalyzer {
  analyzeRgb(
    img: RgbImage,
    opts?: { orientation?: boolean; embedding?: boolean; signal?: AbortSignal },
  ): Promise<ImageAnalysis>;
}

export interface TryOnRequest {
  /** The garment photo (upright RGB) and its alpha channel (one byte per pixel). */
  garment: RgbImage;
  alpha: Uint8Array | undefined;
  /** The garment's mask at the photo's size (garmentMask()); used instead of `alpha` when given. */
  garmentMask?: Mask;
  /** OpenPose skeleton of the wearer (any size; resized to the output): pose guidance. */
  pose?: RgbImage;
  prompt: string;
  negativePrompt?: string;
  /** Output width (FaceChain: 768); height follows the garment photo's aspect, at most maxHeight. */
  width?: number;
  maxHeight?: number;
  steps?: number;
  guidanceScale?: number;
  seed?: number;
  count?: number;
  /** The user's face, fused into each result when given (FaceChain's last step). */
  userFace?: FaceInImage;
  /**
   * The user's identity embedding: each fused result gets its likeness to the user, and results
   * are ranked by it, best first (FaceChain ranks its candidates by identity cosine).
   */
  userEmbedding?: Float32Array;
  signal?: AbortSignal;
}

/** The pose ControlNet's name in the model folder (controlnet-openpose/), as for `generate`. */
export const TRYON_POSE_CONTROLNET = 'openpose';

export const TRYON_GENERATION = {
  width: 768,
  maxHeight: 1152,
  steps: 40,
  guidanceScale: 7,
  strength: 1,
} as const;

export interface TryOnResult {
  images: { image: RgbImage; seed: number; fused: boolean; likeness?: number }[];
  width: number;
  height: number;
}

function maskToRgb(m: Mask): RgbImage {
  const data = new Uint8Array(m.width * m.height * 3);
  for (let i = 0; i < m.data.length; i++) data.fill(m.data[i] >= 0.5 ? 255 : 0, i * 3, i * 3 + 3);
  return { width: m.width, height: m.height, data };
}

/** Output size: the requested width, the garment's aspect, both multiples of 8, height capped. */
export function tryOnSize(
  gw: number,
  gh: number,
  width: number,
  maxHeight: number,
): { width: number; height: number } {
  let w = width;
  let h = (width * gh) / gw;
  if (h > maxHeight) {
    w = (w * maxHeight) / h;
    h = maxHeight;
  }
  const r8 = (v: number) => Math.max(8, Math.round(v / 8) * 8);
  return { width: r8(w), height: r8(h) };
}

export async function tryOn(
  deps: { generator?: InpaintGenerator; analyzer?: TryOnAnalyzer; fuser?: FaceFuser },
  req: TryOnRequest,
): Promise<TryOnResult> {
  // The garment is checked before anything else, so a bad upload is reported even where
  // generation is not installed.
  const fullMask = req.garmentMask ?? garmentMaskFromAlpha(req.alpha, req.garment.width, req.garment.height);
  if (fullMask.width !== req.garment.width || fullMask.height !== req.garment.height) {
    throw new InputError(
      'size_mismatch',
      `The garment mask (${fullMask.width}×${fullMask.height}) does not match the garment photo (${req.garment.width}×${req.garment.height}).`,
    );
  }
  if (!deps.generator) {
    throw new NotAvailableError(
      'Virtual try-on',
      'It needs a Stable Diffusion 1.5 model folder for inpainting with the person’s identity merged in (see docs/generation.md).',
    );
  }
  if (req.userFace && !deps.analyzer) {
    throw new NotAvailableError(
      'Face fusion in try-on',
      'It needs the face analysis models (npx facechain models fetch).',
    );
  }
  const { width, height } = tryOnSize(
    req.garment.width,
    req.garment.height,
    req.width ?? TRYON_GENERATION.width,
    req.maxHeight ?? TRYON_GENERATION.maxHeight,
  );
  // Resample only when needed: at the output size the garment comes back pixel for pixel.
  const same = width === req.garment.width && height === req.garment.height;
  const garment = same ? req.garment : await resizeRgb(req.garment, width, height);
  const scaledMask = same ? maskToRgb(fullMask) : await resizeRgb(maskToRgb(fullMask), width, height);
  const garmentMask = newMask(width, height);
  for (let i = 0; i < garmentMask.data.length; i++)
    garmentMask.data[i] = scaledMask.data[i * 3] >= 128 ? 1 : 0;
  // FaceChain's 15 px erosion is for 768 px wide images; scale it with the output.
  const erodePx = (TRYON_DEFAULTS.erodePx * width) / TRYON_GENERATION.width;
  const repaint = maskToRgb(inpaintMask(garmentMask, erodePx));
  throwIfAborted(req.signal);
  const gen = await deps.generator.generate(
    {
      prompt: req.prompt,
      negativePrompt: req.negativePrompt,
      width,
      height,
      steps: req.steps ?? TRYON_GENERATION.steps,
      guidanceScale: req.guidanceScale ?? TRYON_GENERATION.guidanceScale,
      seed: req.seed,
      count: req.count ?? 1,
      initImage: garment,
      mask: repaint,
      strength: TRYON_GENERATION.strength,
      ...(req.pose
        ? {
            controls: [
              { model: TRYON_POSE_CONTROLNET, image: req.pose, scale: 1, preprocess: 'none' as const },
            ],
          }
        : {}),
    },
    { signal: req.signal },
  );
  const fuser = deps.fuser ?? new LandmarkFuser();
  const images: TryOnResult['images'] = [];
  for (const g of gen.images) {
    throwIfAborted(req.signal);
    let image = pasteGarment(g.rgb, garment, garmentMask, { featherSigma: TRYON_DEFAULTS.featherSigma });
    let fused = false;
    let likeness: number | undefined;
    if (req.userFace && deps.analyzer) {
      const a = await deps.analyzer.analyzeRgb(image, { orientation: false, signal: req.signal });
      if (a.faces[0]) {
        image = await fuser.fuse(req.userFace, fusionInput(image, a.faces[0]), { signal: req.signal });
        fused = true;
        if (req.userEmbedding)
          likeness = (await likenessAt(deps.analyzer, image, a.faces[0].box, req.userEmbedding, req.signal))
            .score;
      }
    }
    images.push({ image, seed: g.seed, fused, ...(likeness === undefined ? {} : { likeness }) });
  }
  if (req.userEmbedding) images.sort((x, y) => (y.likeness ?? -2) - (x.likeness ?? -2));
  return { images, width, height };
}
