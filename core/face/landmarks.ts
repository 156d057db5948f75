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
 * Crop moves of the lock-on test: centre shifted by 12 % of the face size right, left, down and
 * up, then the crop grown by 20 %.
 */
const LOCK_MOVES: readonly [number, number, number][] = [
  [0.12, 0, 1],
  [-0.12, 0, 1],
  [0, 0.12, 1],
  [0, -0.12, 1],
  [0, 0, 1.2],
];
/**
 * The quick test leaves out the upward move: on upright faces it pushes the chin out of the crop
 * and scatters the points (0.03-0.3 of the face size on the fixtures), so without it upright and
 * turned faces separate more cleanly.
 */
const QUICK_MOVES = [0, 1, 2, 4] as const;

/**
 * How much the predicted landmarks move (relative to the face size) when the crop around them
 * moves. On an upright face the regressor follows the image content and the points stay put;
 * on a sideways or upside-down face it falls back towards a mean shape that travels with the
 * crop. Used to tell which of four rotations shows the face upright. Each move's landmark run is
 * done once, when first needed: quick() needs five runs, instability() one more.
 */
export class LandmarkLock {
  private ref: Promise<[number, number][]> | undefined;
  private readonly moved: (Promise<number> | undefined)[] = [];
  private readonly cx: number;
  private readonly cy: number;
  private readonly side: number;

  constructor(
    private readonly session: OnnxSession,
    private readonly pyr: Pyramid,
    private readonly frame: Affine,
    box: Box,
  ) {
    this.cx = (box[0] + box[2]) / 2;
    this.cy = (box[1] + box[3]) / 2;
    this.side = Math.max(box[3] - box[1], 4);
  }

  private move(i: number): Promise<number> {
    this.ref ??= landmarkPass(
      this.session,
      this.pyr,
      this.frame,
      squareCrop(this.cx, this.cy, this.side, 0, N),
    );
    this.moved[i] ??= this.ref.then(async (ref) => {
      const [dx, dy, k] = LOCK_MOVES[i]!;
      const crop = squareCrop(this.cx + dx * this.side, this.cy + dy * this.side, this.side * k, 0, N);
      const pts = await landmarkPass(this.session, this.pyr, this.frame, crop);
      let sum = 0;
      for (let j = 0; j < 68; j++) sum += Math.hypot(pts[j]![0] - ref[j]![0], pts[j]![1] - ref[j]![1]);
      return sum / 68 / this.side;
    });
    return this.moved[i]!;
  }

  /** Mean movement over every move but the upward one (see QUICK_MOVES). */
  async quick(): Promise<number> {
    let total = 0;
    for (const i of QUICK_MOVES) total += await this.move(i);
    return total / QUICK_MOVES.length;
  }

  /** Mean movement over all five moves. */
  async instability(): Promise<number> {
    let total = 0;
    for (let i = 0; i < LOCK_MOVES.length; i++) total += await this.move(i);
    return total / LOCK_MOVES.length;
  }
}

/** LandmarkLock's full measure for one box. */
export function landmarkInstability(
  session: OnnxSession,
  pyr: Pyramid,
  frame: Affine,
  box: Box,
): Promise<number> {
  return new LandmarkLock(session, pyr, frame, box).instability();
}
