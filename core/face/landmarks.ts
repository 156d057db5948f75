/**
 * 68-point landmarks (iBUG 300-W order) from a 64x64 grey crop of the squared face box, values
 * scaled by 1/256 as the model was trained. A second pass on a crop turned by the first pass's
 * roll angle corrects tilted heads (the regressor is most accurate on upright faces).
 */
import type { OnnxSession } from '../../models/onnx.ts';
import {
  type Affine,
  applyAffine,
  composeAffine,
  invertAffine,
  type Point,
  type Pyramid,
  warpAffine,
} from '../image/warp.ts';
import { greyToFloat } from './tensor.ts';
import type { Box } from './types.ts';

const N = 64;
/** Re-run landmarks on a rotated crop when the first pass finds more roll than this (degrees). */
const ROLL_REPASS_DEG = 8;

/** A square of side `side` centred at (cx, cy), turned by `angle` radians, mapped onto n x n. */
export function squareCrop(cx: number, cy: number, side: number, angle: number, n: number): Affine {
  const k = n / side;
  const cos = Math.cos(-angle) * k;
  const sin = Math.sin(-angle) * k;
  // q = k * R(-angle) * (p - c) + n/2
  return [cos, -sin, n / 2 - (cos * cx - sin * cy), sin, cos, n / 2 - (sin * cx + cos * cy)];
}

function mean(points: readonly Point[], idx: readonly number[]): [number, number] {
  let x = 0;
  let y = 0;
  for (const i of idx) {
    x += points[i]![0];
    y += points[i]![1];
  }
  return [x / idx.length, y / idx.length];
}

/** Eye centres (image-left eye first) from 68 landmarks: the four lid points of each eye. */
export function eyeCentres(lm: readonly Point[]): [[number, number], [number, number]] {
  return [mean(lm, [37, 38, 40, 41]), mean(lm, [43, 44, 46, 47])];
}

/** Roll angle in radians: the tilt of the line through the eye centres. */
export function rollAngle(lm: readonly Point[]): number {
  const [l, r] = eyeCentres(lm);
  return Math.atan2(r[1] - l[1], r[0] - l[0]);
}

/** The five alignment points (eyes, nose tip, mouth corners) from 68 landmarks. */
export function fivePoints(lm: readonly Point[]): [number, number][] {
  const [le, re] = eyeCentres(lm);
  return [le, re, [lm[30]![0], lm[30]![1]], mean(lm, [48, 60]), mean(lm, [54, 64])];
}

async function landmarkPass(
  session: OnnxSession,
  pyr: Pyramid,
  frame: Affine,
  crop: Affine,
): Promise<[number, number][]> {
  const grey = warpAffine(pyr, composeAffine(crop, frame), N, N, { grey: true, fill: [0, 0, 0] });
  const out = await session.run({
    input: { type: 'float32', data: greyToFloat(grey, 1 / 256), dims: [1, 1, N, N] },
  });
  const v = out.output!.data as Float32Array;
  const back = invertAffine(crop);
  const pts: [number, number][] = [];
  for (let i = 0; i < 68; i++) pts.push(applyAffine(back, [v[2 * i]! * N, v[2 * i + 1]! * N]));
  return pts;
}

/** Landmarks in upright-frame pixels for one detected box. */
export async function predictLandmarks(
  session: OnnxSession,
  pyr: Pyramid,
  frame: Affine,
  box: Box,
): Promise<[number, number][]> {
  const cx = (box[0] + box[2]) / 2;
  const cy = (box[1] + box[3]) / 2;
  // The model was trained on detector boxes squared to their height.
  const side = Math.max(box[3] - box[1], 4);
  let pts = await landmarkPass(session, pyr, frame, squareCrop(cx, cy, side, 0, N));
  const roll = rollAngle(pts);
  if (Math.abs(roll) > (ROLL_REPASS_DEG * Math.PI) / 180) {
    pts = await landmarkPass(session, pyr, frame, squareCrop(cx, cy, side, roll, N));
  }
  return pts;
}

/**
 * How much the predicted landmarks move (relative to the face size) when the crop around them
 * moves. On an upright face the regressor follows the image content and the points stay put;
 * on a sideways or upside-down face it falls back towards a mean shape that travels with the
 * crop. Used to tell which of four rotations shows the face upright.
 */
export async function landmarkInstability(
  session: OnnxSession,
  pyr: Pyramid,
  frame: Affine,
  box: Box,
): Promise<number> {
  const cx = (box[0] + box[2]) / 2;
  const cy = (box[1] + box[3]) / 2;
  const side = Math.max(box[3] - box[1], 4);
  const ref = await landmarkPass(session, pyr, frame, squareCrop(cx, cy, side, 0, N));
  const d = side * 0.12;
  let total = 0;
  const shifts: [number, number, number][] = [
    [d, 0, 1],
    [-d, 0, 1],
    [0, d, 1],
    [0, -d, 1],
    [0, 0, 1.2],
  ];
  for (const [dx, dy, k] of shifts) {
    const pts = await landmarkPass(session, pyr, frame, squareCrop(cx + dx, cy + dy, side * k, 0, N));
    let sum = 0;
    for (let i = 0; i < 68; i++) sum += Math.hypot(pts[i]![0] - ref[i]![0], pts[i]![1] - ref[i]![1]);
    total += sum / 68 / side;
  }
  return total / shifts.length;
}
