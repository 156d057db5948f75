/**
 * OpenPose skeleton images as the OpenPose ControlNet saw them in training (the ControlNet
 * annotator's body drawing, kept by controlnet_aux): on black, each of 17 limbs is a filled
 * ellipse 4 px in half-width along the bone in its own colour; the whole canvas is then dimmed to
 * 60% (integer truncation), and each found joint is drawn on top as a filled circle of radius 4
 * in full colour. The two ear-to-shoulder entries of OpenPose's limb list are never drawn.
 * Written from that description; pixel rasterisation follows OpenCV's rules closely (integer
 * truncation of centre, half-length and angle; 1-degree ellipse polygon), colours exactly.
 */
import type { RgbImage } from '../image/codec.ts';
import { type BodyPose, found, type Keypoint } from './keypoints.ts';

/** Joint colours (RGB), one per OpenPose point; limb i uses colour i. */
export const OPENPOSE_COLORS: readonly (readonly [number, number, number])[] = [
  [255, 0, 0],
  [255, 85, 0],
  [255, 170, 0],
  [255, 255, 0],
  [170, 255, 0],
  [85, 255, 0],
  [0, 255, 0],
  [0, 255, 85],
  [0, 255, 170],
  [0, 255, 255],
  [0, 170, 255],
  [0, 85, 255],
  [0, 0, 255],
  [85, 0, 255],
  [170, 0, 255],
  [255, 0, 255],
  [255, 0, 170],
  [255, 0, 85],
];

/**
 * OpenPose's limb list, 1-based as published: neck-shoulders, arms, neck-hips, legs, neck-nose,
 * nose-eyes-ears; the last two (shoulder-ear) exist in the list but are not drawn.
 */
export const OPENPOSE_LIMBS: readonly (readonly [number, number])[] = [
  [2, 3],
  [2, 6],
  [3, 4],
  [4, 5],
  [6, 7],
  [7, 8],
  [2, 9],
  [9, 10],
  [10, 11],
  [2, 12],
  [12, 13],
  [13, 14],
  [2, 1],
  [1, 15],
  [15, 17],
  [1, 16],
  [16, 18],
  [3, 17],
  [6, 18],
];

export const DRAWN_LIMBS = 17;
export const STICK_WIDTH = 4;
export const JOINT_RADIUS = 4;
/** Limbs are dimmed to this share of their colour (truncated to an integer). */
export const LIMB_DIM = 0.6;

/** The dimmed limb colour as the annotator stores it: floor(c × 0.6). */
export function limbColor(i: number): [number, number, number] {
  const c = OPENPOSE_COLORS[i];
  return [Math.floor(c[0] * LIMB_DIM), Math.floor(c[1] * LIMB_DIM), Math.floor(c[2] * LIMB_DIM)];
}

/** Round half to even, as OpenCV's cvRound does. */
function cvRound(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** OpenCV's ellipse2Poly for a full ellipse (integer centre and axes, degrees, 1° steps). */
export function ellipsePolygon(
  cx: number,
  cy: number,
  ax: number,
  ay: number,
  angleDeg: number,
): [number, number][] {
  let angle = angleDeg;
  while (angle < 0) angle += 360;
  while (angle > 360) angle -= 360;
  const alpha = Math.cos((angle * Math.PI) / 180);
  const beta = Math.sin((angle * Math.PI) / 180);
  const pts: [number, number][] = [];
  for (let i = 0; i <= 360; i++) {
    const t = (i * Math.PI) / 180;
    const x = ax * Math.cos(t);
    const y = ay * Math.sin(t);
    const px = cvRound(cx + x * alpha - y * beta);
    const py = cvRound(cy + x * beta + y * alpha);
    const last = pts[pts.length - 1];
    if (!last || last[0] !== px || last[1] !== py) pts.push([px, py]);
  }
  if (pts.length === 1) pts.push([cx, cy]);
  return pts;
}

/**
 * Fill a convex polygon with integer vertices, edges included (OpenCV's fillConvexPoly paints its
 * outline too): each row spans from the leftmost to the rightmost crossing, rounded outwards to
 * the nearest pixel.
 */
export function fillConvex(img: RgbImage, poly: readonly [number, number][], color: readonly number[]): void {
  let y0 = Number.POSITIVE_INFINITY;
  let y1 = Number.NEGATIVE_INFINITY;
  for (const [, y] of poly) {
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  }
  const n = poly.length;
  for (let y = Math.max(0, y0); y <= Math.min(img.height - 1, y1); y++) {
    let xl = Number.POSITIVE_INFINITY;
    let xr = Number.NEGATIVE_INFINITY;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const [xa, ya] = poly[j];
      const [xb, yb] = poly[i];
      if ((ya <= y && yb >= y) || (yb <= y && ya >= y)) {
        if (ya === yb) {
          xl = Math.min(xl, xa, xb);
          xr = Math.max(xr, xa, xb);
        } else {
          const x = xa + ((y - ya) * (xb - xa)) / (yb - ya);
          xl = Math.min(xl, x);
          xr = Math.max(xr, x);
        }
      }
    }
    if (!Number.isFinite(xl)) continue;
    const from = Math.max(0, Math.round(xl));
    const to = Math.min(img.width - 1, Math.round(xr));
    for (let x = from; x <= to; x++) img.data.set(color, (y * img.width + x) * 3);
  }
}

/** A filled circle (OpenCV's filled circle of radius r covers dx² + dy² ≤ r² + r). */
export function fillCircle(img: RgbImage, cx: number, cy: number, r: number, color: readonly number[]): void {
  for (let dy = -r; dy <= r; dy++) {
    const y = cy + dy;
    if (y < 0 || y >= img.height) continue;
    for (let dx = -r; dx <= r; dx++) {
      const x = cx + dx;
      if (x < 0 || x >= img.width || dx * dx + dy * dy > r * r + r) continue;
      img.data.set(color, (y * img.width + x) * 3);
    }
  }
}

/**
 * Draw people's skeletons on black at width × height. Keypoints are in the pixels of a photo of
 * size `from` (default: the output size) and are scaled per axis, as the annotator scales its
 * normalised points.
 */
export function drawSkeleton(
  people: readonly Pick<BodyPose, 'keypoints'>[],
  width: number,
  height: number,
  from: { width: number; height: number } = { width, height },
): RgbImage {
  const img: RgbImage = { width, height, data: new Uint8Array(width * height * 3) };
  const sx = width / from.width;
  const sy = height / from.height;
  const at = (k: Keypoint): [number, number] => [k[0] * sx, k[1] * sy];
  for (let i = 0; i < DRAWN_LIMBS; i++) {
    const [a, b] = OPENPOSE_LIMBS[i];
    for (const p of people) {
      const ka = p.keypoints[a - 1];
      const kb = p.keypoints[b - 1];
      if (!found(ka) || !found(kb)) continue;
      const [xa, ya] = at(ka);
      const [xb, yb] = at(kb);
      const length = Math.hypot(xa - xb, ya - yb);
      const angle = Math.trunc((Math.atan2(ya - yb, xa - xb) * 180) / Math.PI);
      const poly = ellipsePolygon(
        Math.trunc((xa + xb) / 2),
        Math.trunc((ya + yb) / 2),
        Math.trunc(length / 2),
        STICK_WIDTH,
        angle,
      );
      fillConvex(img, poly, OPENPOSE_COLORS[i]);
    }
  }
  // The annotator dims the whole canvas (only limbs are on it yet) to 60%, truncating.
  for (let i = 0; i < img.data.length; i++) img.data[i] = Math.floor(img.data[i] * LIMB_DIM);
  for (let i = 0; i < 18; i++) {
    for (const p of people) {
      const k = p.keypoints[i];
      if (!found(k)) continue;
      const [x, y] = at(k);
      fillCircle(img, Math.trunc(x), Math.trunc(y), JOINT_RADIUS, OPENPOSE_COLORS[i]);
    }
  }
  return img;
}
