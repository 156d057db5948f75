/**
 * Face fusion without a learned model: the source face is warped onto the target face's
 * landmarks (piecewise affine over a Delaunay mesh), its colours are matched to the target skin,
 * and it is blended in (seamless or feathered) inside a mask built from the landmarks. Runs on
 * any CPU. A learned fuser can be added later by implementing `FaceFuser`.
 */
import { InputError, throwIfAborted } from '../../base/errors.ts';
import { featherBlend, poissonBlend } from './blend.ts';
import { transferColor } from './color.ts';
import { delaunay } from './delaunay.ts';
import {
  applySimilarity,
  checkLandmarks,
  estimateSimilarity,
  foreheadPoints,
  INNER,
  LANDMARK_COUNT,
  OUTLINE,
} from './landmarks.ts';
import { convexHull, erode, fillPolygon, gaussianBlur, multiplyInto } from './mask.ts';
import type { Point, RgbImage } from './raster.ts';
import { boundsOf, cropToFloat, pasteFloat, rgbImage } from './raster.ts';
import { piecewiseAffineWarp } from './warp.ts';

/** A face in an image: the decoded pixels and the face's 68 landmarks in pixel coordinates. */
export interface FaceInImage {
  image: RgbImage;
  landmarks: readonly Point[];
}

export interface FuseOptions {
  /** 'feather' (alpha blend, default) or 'poisson' (seamless cloning). */
  blend?: 'poisson' | 'feather';
  /** Match the source face's Lab colour statistics to the target skin first (default true). */
  colorTransfer?: boolean;
  /**
   * 0..1: how much of the source face's inner-feature geometry (eyes, nose, mouth, brows) to
   * keep; the rest follows the target's. The outline always follows the target's jaw.
   */
  keepShape?: number;
  /**
   * Mask erosion as a fraction of the face size (square root of the face hull's area); never
   * less than twice the feather sigma.
   */
  erode?: number;
  /** Gaussian feather sigma as a fraction of the face size. */
  feather?: number;
  /**
   * How far above the brows the mask reaches, as a fraction of the chin-to-nose-bridge distance
   * (0 = stop at the brows, FaceChain's jaw+brows hull).
   */
  forehead?: number;
  /** 0..1: how much the outline (jaw, forehead) follows the source face instead of the target's. */
  keepOutline?: number;
  signal?: AbortSignal;
}

export interface FaceFuser {
  /** A short id for logs and results, e.g. "landmark-warp". */
  readonly id: string;
  /** Put the source face into the target image in place of the target face; returns a new image. */
  fuse(source: FaceInImage, target: FaceInImage, opts?: FuseOptions): Promise<RgbImage>;
}

/**
 * Defaults tuned on the test photos (docs/fusion.md has the figures): most of the source's
 * shape, a little forehead, a narrow feather, and feathered rather than Poisson blending, which
 * smears hair colour into the face wherever the mask edge crosses hair.
 */
export const FUSE_DEFAULTS = {
  blend: 'feather',
  colorTransfer: true,
  keepShape: 0.75,
  keepOutline: 0.75,
  forehead: 0.05,
  erode: 0.02,
  feather: 0.01,
} as const satisfies Required<Omit<FuseOptions, 'signal'>>;

/**
 * Where the fused face's landmarks go: the source's shape posed like the target (least-squares
 * similarity on the inner features), mixed with the target's own points; `keepShape` for the
 * inner features, `keepOutline` for the jaw and any points past the 68 (forehead).
 */
export function fusionLandmarks(
  source: readonly Point[],
  target: readonly Point[],
  keepShape: number,
  keepOutline = 0,
): Point[] {
  const sim = estimateSimilarity(source, target, INNER);
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  const inner = clamp(keepShape);
  const outline = clamp(keepOutline);
  return target.map((t, i) => {
    const k = i < 17 || i >= LANDMARK_COUNT ? outline : inner;
    const s = applySimilarity(sim, source[i]);
    return [t[0] + k * (s[0] - t[0]), t[1] + k * (s[1] - t[1])] as Point;
  });
}

/** Options merged over the defaults (an option given as undefined keeps its default) and checked. */
export function resolveFuseOptions(opts: FuseOptions): Required<Omit<FuseOptions, 'signal'>> & FuseOptions {
  const o: Record<string, unknown> = { ...FUSE_DEFAULTS };
  for (const [k, v] of Object.entries(opts)) if (v !== undefined) o[k] = v;
  const r = o as unknown as Required<Omit<FuseOptions, 'signal'>> & FuseOptions;
  if (r.blend !== 'feather' && r.blend !== 'poisson') {
    throw new InputError(
      'bad_fuse_option',
      `blend must be "feather" or "poisson" (got "${String(r.blend)}").`,
    );
  }
  for (const k of ['keepShape', 'keepOutline', 'forehead', 'erode', 'feather'] as const) {
    const v = r[k];
    const max = k === 'keepShape' || k === 'keepOutline' ? 1 : 0.5;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) {
      throw new InputError('bad_fuse_option', `${k} must be a number from 0 to ${max} (got ${String(v)}).`);
    }
  }
  return r;
}

function checkImage(img: RgbImage, what: string): void {
  if (img.width < 1 || img.height < 1 || img.data.length !== img.width * img.height * 3) {
    throw new InputError(
      'bad_image_buffer',
      `${what} is not an RGB image of its stated size (${img.width}×${img.height}, ${img.data.length} bytes).`,
    );
  }
}

/** The synchronous landmark fusion (what `LandmarkFuser.fuse` runs). */
export function fuseByLandmarks(source: FaceInImage, target: FaceInImage, opts: FuseOptions = {}): RgbImage {
  checkImage(source.image, 'The source image');
  checkImage(target.image, 'The target image');
  checkLandmarks(source.landmarks, 'The source face');
  checkLandmarks(target.landmarks, 'The target face');
  const o = resolveFuseOptions(opts);
  const srcPts = [...source.landmarks];
  const tgtPts = [...target.landmarks];
  if (o.forehead > 0) {
    srcPts.push(...foreheadPoints(srcPts, o.forehead));
    tgtPts.push(...foreheadPoints(tgtPts, o.forehead));
  }
  const dst = fusionLandmarks(srcPts, tgtPts, o.keepShape, o.keepOutline);
  const outline = [...OUTLINE];
  for (let i = LANDMARK_COUNT; i < dst.length; i++) outline.push(i);
  const hull = convexHull(outline.map((i) => dst[i]));
  let area = 0;
  for (let i = 0, j = hull.length - 1; i < hull.length; j = i++) {
    area += hull[j][0] * hull[i][1] - hull[i][0] * hull[j][1];
  }
  const size = Math.sqrt(Math.abs(area) / 2);
  const sigma = o.feather * size;
  // At least 2σ, so the feather has faded before it reaches the hull edge (a clipped feather
  // is a visible seam).
  const erodePx = Math.max(o.erode * size, 2 * sigma);
  const { width, height } = target.image;
  const rect = boundsOf(dst, 2, width, height);
  const rw = rect.x1 - rect.x0;
  const rh = rect.y1 - rect.y0;
  const out = rgbImage(width, height, new Uint8Array(target.image.data));
  if (rw < 3 || rh < 3 || size < 4) return out;

  const tris = delaunay(dst);
  const warped = piecewiseAffineWarp(source.image, srcPts, dst, tris, rect);
  throwIfAborted(o.signal);
  const hullMask = fillPolygon(hull, rw, rh, [rect.x0, rect.y0]);
  multiplyInto(hullMask, warped.coverage);
  // Paint only inside the target's own face outline: a source outline that reaches further
  // would cover the target's hair or background.
  if (o.keepOutline > 0) {
    multiplyInto(
      hullMask,
      fillPolygon(convexHull(outline.map((i) => tgtPts[i])), rw, rh, [rect.x0, rect.y0]),
    );
  }
  const core = erode(hullMask, erodePx);
  const base = cropToFloat(target.image, rect);
  if (o.colorTransfer) transferColor(warped.image, base, core);
  throwIfAborted(o.signal);
  const inner = o.blend === 'poisson' ? poissonBlend(base, warped.image, core).image : warped.image;
  const alpha = multiplyInto(gaussianBlur(core, sigma), hullMask);
  pasteFloat(out, rect, featherBlend(base, inner, alpha));
  return out;
}

export class LandmarkFuser implements FaceFuser {
  readonly id = 'landmark-warp';
  constructor(private readonly defaults: FuseOptions = {}) {}

  async fuse(source: FaceInImage, target: FaceInImage, opts: FuseOptions = {}): Promise<RgbImage> {
    return fuseByLandmarks(source, target, { ...this.defaults, ...opts });
  }
}
