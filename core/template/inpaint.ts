/**
 * FaceChain's template inpainting, on the generation engine: cut a square around the template
 * face (side = face size / 0.7, FaceChain-FACT's crop), regenerate the face region by inpainting
 * at strength 0.6 (optionally guided by a canny ControlNet at 0.2, as FaceChain does), and blend
 * it back through an eroded, blurred mask. The identity is whatever the caller put into the
 * generator (a merged face LoRA; FACT tokens need the FACT UNet). templatePortrait() then fuses
 * the user's face into the regenerated one.
 *
 * Not in this version of the recipe: the OpenPose ControlNet (no pose estimator in the
 * manifests) and the second refinement pass at strength 0.1.
 */

import { throwIfAborted } from '../../base/errors.ts';
import type { InpaintGenerator } from '../diffusion/generate.ts';
import { featherBlend } from '../fusion/blend.ts';
import { GROUPS } from '../fusion/landmarks.ts';
import { convexHull, erode, fillPolygon, gaussianBlur } from '../fusion/mask.ts';
import type { Mask, Point, RgbImage } from '../fusion/raster.ts';
import { cropToFloat, pasteFloat, rgbImage } from '../fusion/raster.ts';
import { extractRgb, resizeRgb } from '../image/codec.ts';
import type { TemplateInpainter, TemplateInpaintRequest } from './template.ts';

export interface SdInpaintOptions {
  prompt: string;
  negativePrompt?: string;
  /** Generation size of the face crop (FaceChain: 512). */
  size?: number;
  strength?: number;
  steps?: number;
  guidanceScale?: number;
  seed?: number;
  /** Name of a canny ControlNet in the pipeline, used at `cannyScale`; none by default. */
  canny?: string;
  cannyScale?: number;
}

export const TEMPLATE_INPAINT_DEFAULTS = {
  size: 512,
  strength: 0.6,
  steps: 50,
  guidanceScale: 5,
  cannyScale: 0.2,
  /** FaceChain-FACT crops a square of side max(face box) / 0.7. */
  faceRatio: 0.7,
} as const;

/** The square crop FaceChain-FACT takes around a face, shifted (and if need be shrunk) to fit. */
export function faceCrop(box: readonly number[], width: number, height: number, ratio: number) {
  const side = Math.min(width, height, Math.round(Math.max(box[2] - box[0], box[3] - box[1]) / ratio));
  const cx = (box[0] + box[2]) / 2;
  const cy = (box[1] + box[3]) / 2;
  const x0 = Math.round(Math.min(Math.max(0, cx - side / 2), width - side));
  const y0 = Math.round(Math.min(Math.max(0, cy - side / 2), height - side));
  return { x0, y0, side };
}

/** Face hull (jaw and brows) grown about its centre by `grow`, filled in a w×h frame. */
function faceMask(
  landmarks: readonly Point[],
  map: (p: Point) => Point,
  grow: number,
  w: number,
  h: number,
): Mask {
  const pts = [
    ...Array.from({ length: GROUPS.jaw[1] }, (_, i) => i),
    ...Array.from({ length: 10 }, (_, i) => 17 + i),
  ].map((i) => map(landmarks[i]));
  const cx = pts.reduce((s, p) => s + p[0], 0) / pts.length;
  const cy = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  const grown = pts.map(([x, y]) => [cx + grow * (x - cx), cy + grow * (y - cy)] as Point);
  return fillPolygon(convexHull(grown), w, h);
}

function maskRgb(m: Mask): RgbImage {
  const data = new Uint8Array(m.width * m.height * 3);
  for (let i = 0; i < m.data.length; i++) data.fill(m.data[i] >= 0.5 ? 255 : 0, i * 3, i * 3 + 3);
  return { width: m.width, height: m.height, data };
}

export class SdTemplateInpainter implements TemplateInpainter {
  readonly id = 'sd-inpaint';

  constructor(
    private readonly generator: InpaintGenerator,
    private readonly opts: SdInpaintOptions,
  ) {}

  async inpaintFace({ template, face, signal }: TemplateInpaintRequest): Promise<RgbImage> {
    const d = TEMPLATE_INPAINT_DEFAULTS;
    const size = this.opts.size ?? d.size;
    const { x0, y0, side } = faceCrop(face.box, template.width, template.height, d.faceRatio);
    const crop = extractRgb(template, x0, y0, side, side);
    const scale = size / side;
    // Landmarks are continuous coordinates (pixel i spans [i, i+1)); masks use pixel centres.
    const toGen = ([x, y]: Point): Point => [(x - x0) * scale - 0.5, (y - y0) * scale - 0.5];
    const genMask = faceMask(face.landmarks, toGen, 1.15, size, size);
    const init = side === size ? crop : await resizeRgb(crop, size, size);
    throwIfAborted(signal);
    const res = await this.generator.generate(
      {
        prompt: this.opts.prompt,
        negativePrompt: this.opts.negativePrompt,
        width: size,
        height: size,
        steps: this.opts.steps ?? d.steps,
        guidanceScale: this.opts.guidanceScale ?? d.guidanceScale,
        seed: this.opts.seed,
        count: 1,
        initImage: init,
        mask: maskRgb(genMask),
        strength: this.opts.strength ?? d.strength,
        controls: this.opts.canny
          ? [
              {
                model: this.opts.canny,
                image: init,
                scale: this.opts.cannyScale ?? d.cannyScale,
                preprocess: 'canny',
              },
            ]
          : undefined,
      },
      { signal },
    );
    const generated = res.images[0].rgb;
    const back = side === size ? generated : await resizeRgb(generated, side, side);
    // Blend back through the face hull, eroded and blurred, in the template's pixels.
    const toCrop = ([x, y]: Point): Point => [x - x0 - 0.5, y - y0 - 0.5];
    const hull = faceMask(face.landmarks, toCrop, 1.1, side, side);
    const faceSide = Math.max(face.box[2] - face.box[0], face.box[3] - face.box[1]);
    const alpha = gaussianBlur(erode(hull, 0.03 * faceSide), 0.02 * faceSide);
    const rect = { x0, y0, x1: x0 + side, y1: y0 + side };
    const out = rgbImage(template.width, template.height, new Uint8Array(template.data));
    const full = { x0: 0, y0: 0, x1: side, y1: side };
    pasteFloat(out, rect, featherBlend(cropToFloat(crop, full), cropToFloat(back, full), alpha));
    return out;
  }
}
