/**
 * The talking-head crop: an axis-aligned square around the face, sized the way FFHQ-style
 * aligners (SadTalker's cropper among them) size it: side = 2 * max(2 * eye distance, 1.8 *
 * eye-to-mouth distance). The face fills about half of the frame, with hair, neck and some
 * background around it. The centre lies on the line from the eyes to the mouth: a tenth of the
 * way for the FFHQ layout the neural renderer was trained on, near the nose for the basic
 * animator (the face centred, with room under the chin for the jaw to move). No rotation: the
 * portrait's own pixels are only scaled, so nothing is resampled twice.
 */

import { eyeCentres } from '../face/landmarks.ts';
import type { RgbImage } from '../image/codec.ts';
import { type Affine, applyAffine, type Point, Pyramid, warpRgb } from '../image/warp.ts';

export interface TalkCrop {
  /** size x size RGB. */
  image: RgbImage;
  /** The 68 landmarks in the crop, pixel centres on integers (the mesh's convention). */
  landmarks: Point[];
  /** Portrait pixels (continuous) -> crop pixels (continuous). */
  affine: Affine;
}

/** Crop centres as a share of the way from the eyes to the mouth. */
export const FFHQ_CENTRE = 0.1;
export const FACE_CENTRE = 0.4;

export function talkCropAffine(landmarks: readonly Point[], size: number, centre = FACE_CENTRE): Affine {
  const [le, re] = eyeCentres(landmarks);
  const eyeX = (le[0] + re[0]) / 2;
  const eyeY = (le[1] + re[1]) / 2;
  const mouthX = (landmarks[48]![0] + landmarks[54]![0]) / 2;
  const mouthY = (landmarks[48]![1] + landmarks[54]![1]) / 2;
  const eyeDist = Math.hypot(re[0] - le[0], re[1] - le[1]);
  const eyeMouth = Math.hypot(mouthX - eyeX, mouthY - eyeY);
  const side = 2 * Math.max(2 * eyeDist, 1.8 * eyeMouth);
  const cx = eyeX + centre * (mouthX - eyeX);
  const cy = eyeY + centre * (mouthY - eyeY);
  const k = size / side;
  return [k, 0, size / 2 - k * cx, 0, k, size / 2 - k * cy];
}

/**
 * Cut the crop. Where the square reaches past the portrait, the portrait's border rows and
 * columns are repeated, so a tight portrait gets no band of fill colour around it.
 */
export function talkCrop(
  portrait: RgbImage,
  landmarks: readonly Point[],
  size: number,
  centre = FACE_CENTRE,
): TalkCrop {
  const affine = talkCropAffine(landmarks, size, centre);
  const region = coverRegion(portrait, affine, size);
  // Region pixel (x, y) is portrait pixel (x + ox, y + oy).
  const fromRegion: Affine = [
    affine[0],
    0,
    affine[2] + affine[0] * region.ox,
    0,
    affine[4],
    affine[5] + affine[4] * region.oy,
  ];
  const image = warpRgb(new Pyramid(region.image), fromRegion, size, size);
  const pts = landmarks.map((p) => {
    const [x, y] = applyAffine(affine, p);
    return [x - 0.5, y - 0.5] as const;
  });
  return { image, landmarks: pts, affine };
}

/**
 * The part of the portrait the crop reads (plus a margin for the pyramid's box filter), with
 * edge pixels repeated wherever it lies outside the portrait. Copying only this region keeps a
 * large photo from being duplicated whole.
 */
function coverRegion(
  img: RgbImage,
  affine: Affine,
  size: number,
): { image: RgbImage; ox: number; oy: number } {
  const k = affine[0];
  const m = Math.ceil(4 / Math.min(1, k));
  const ox = Math.floor(-affine[2] / k) - m;
  const oy = Math.floor(-affine[5] / k) - m;
  const w = Math.ceil(size / k) + 2 * m + 1;
  const h = w;
  const out = new Uint8Array(w * h * 3);
  const src = img.data;
  const xs = new Int32Array(w);
  for (let x = 0; x < w; x++) xs[x] = Math.min(img.width - 1, Math.max(0, x + ox)) * 3;
  for (let y = 0; y < h; y++) {
    const row = Math.min(img.height - 1, Math.max(0, y + oy)) * img.width * 3;
    let d = y * w * 3;
    for (let x = 0; x < w; x++, d += 3) {
      const s = row + xs[x]!;
      out[d] = src[s]!;
      out[d + 1] = src[s + 1]!;
      out[d + 2] = src[s + 2]!;
    }
  }
  return { image: { data: out, width: w, height: h }, ox, oy };
}
