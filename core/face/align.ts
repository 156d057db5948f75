/**
 * Face alignment from landmarks: the 5-point similarity warp to the 112x112 recognition crop,
 * and FaceChain's 512x512 training crop (face width 0.35/1.15 of the side, face centre at
 * 0.5/1.15 of the height, white padding, roll removed).
 */
import type { RgbImage } from '../image/codec.ts';
import {
  type Affine,
  applyAffine,
  fitSimilarity,
  invertAffine,
  type Point,
  type Pyramid,
  warpRgb,
} from '../image/warp.ts';
import { fivePoints, rollAngle, squareCrop } from './landmarks.ts';

/** ArcFace reference points for a 112x112 crop (eyes, nose, mouth corners). */
export const REFERENCE_5: readonly Point[] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

/** Affine from image pixels to a size x size recognition crop (reference scaled from 112). */
export function recognitionAffine(landmarks: readonly Point[], size = 112): Affine {
  const k = size / 112;
  return fitSimilarity(
    fivePoints(landmarks),
    REFERENCE_5.map(([x, y]) => [x * k, y * k] as const),
  );
}

/** FaceChain's crop geometry: face width as a share of the side, face centre height. */
export const FACECHAIN_FACE_WIDTH = 0.35 / 1.15;
export const FACECHAIN_FACE_CENTRE_Y = 0.5 / 1.15;

/**
 * Affine from image pixels to FaceChain's size x size training crop. The face box is taken from
 * the landmarks in the roll-corrected frame, its top raised by a fifth of its height (the 68
 * points start at the brows, a detector box includes the forehead).
 */
export function facechainCropAffine(landmarks: readonly Point[], size = 512): Affine {
  const roll = rollAngle(landmarks);
  const cx0 = landmarks.reduce((a, p) => a + p[0], 0) / landmarks.length;
  const cy0 = landmarks.reduce((a, p) => a + p[1], 0) / landmarks.length;
  // Landmarks in a frame turned by -roll around their centroid (unit scale).
  const unroll = squareCrop(cx0, cy0, 1, roll, 1);
  const pts = landmarks.map((p) => applyAffine(unroll, p));
  let x1 = Infinity;
  let y1 = Infinity;
  let x2 = -Infinity;
  let y2 = -Infinity;
  for (const [x, y] of pts) {
    x1 = Math.min(x1, x);
    y1 = Math.min(y1, y);
    x2 = Math.max(x2, x);
    y2 = Math.max(y2, y);
  }
  y1 -= (y2 - y1) * 0.2;
  const faceW = Math.max(x2 - x1, y2 - y1);
  const side = faceW / FACECHAIN_FACE_WIDTH;
  // Centre of the face box, back in image coordinates.
  const [fcx, fcy] = applyAffine(invertAffine(unroll), [(x1 + x2) / 2, (y1 + y2) / 2]);
  // Crop centre sits (0.5 - 0.5/1.15) * side below the face centre, along the unrolled vertical.
  const drop = (0.5 - FACECHAIN_FACE_CENTRE_Y) * side;
  const ccx = fcx - Math.sin(roll) * drop;
  const ccy = fcy + Math.cos(roll) * drop;
  return squareCrop(ccx, ccy, side, roll, size);
}

/**
 * The aligned size x size recognition crop of a face. `img` must be the upright image the
 * landmarks refer to (rotateRgb(decoded, analysis.rotation) when the analysis turned it).
 */
export function alignFace(img: RgbImage | Pyramid, landmarks: readonly Point[], size = 112): RgbImage {
  return warpRgb(img, recognitionAffine(landmarks, size), size, size);
}

/** FaceChain's size x size training crop of a face (white padding), from the upright image. */
export function facechainCrop(img: RgbImage | Pyramid, landmarks: readonly Point[], size = 512): RgbImage {
  return warpRgb(img, facechainCropAffine(landmarks, size), size, size, [255, 255, 255]);
}
