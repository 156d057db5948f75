/**
 * The 68-point (iBUG 300-W) landmark layout and the geometry fusion needs from it: which points
 * outline the face, and the least-squares similarity transform between two landmark sets.
 */
import { InputError } from '../../base/errors.ts';
import type { Point } from './raster.ts';

export const LANDMARK_COUNT = 68;

/** Index ranges [from, to) of the iBUG 68-point groups. */
export const GROUPS = {
  jaw: [0, 17],
  rightBrow: [17, 22],
  leftBrow: [22, 27],
  noseBridge: [27, 31],
  nose: [31, 36],
  rightEye: [36, 42],
  leftEye: [42, 48],
  mouth: [48, 68],
} as const;

export function range(group: keyof typeof GROUPS): number[] {
  const [a, b] = GROUPS[group];
  return Array.from({ length: b - a }, (_, i) => a + i);
}

/** The points whose convex hull is the face mask: jaw and brows (FaceChain's face region). */
export const OUTLINE = [...range('jaw'), ...range('rightBrow'), ...range('leftBrow')];

/** Inner features (brows, eyes, nose, mouth): the shape that carries most of a face's identity. */
export const INNER = Array.from({ length: LANDMARK_COUNT - 17 }, (_, i) => 17 + i);

export function checkLandmarks(pts: readonly Point[], what: string): void {
  if (pts.length !== LANDMARK_COUNT) {
    throw new InputError(
      'bad_landmarks',
      `${what} has ${pts.length} landmarks; face fusion needs the ${LANDMARK_COUNT}-point layout.`,
    );
  }
  for (const p of pts) {
    if (!Number.isFinite(p[0]) || !Number.isFinite(p[1])) {
      throw new InputError('bad_landmarks', `${what} has a landmark that is not a finite number.`);
    }
  }
}

/** x' = s·R·x + t, stored as [a, b, tx, ty] with s·R = [[a, −b], [b, a]]. */
export type Similarity = readonly [number, number, number, number];

export function applySimilarity(m: Similarity, p: Point): Point {
  const [a, b, tx, ty] = m;
  return [a * p[0] - b * p[1] + tx, b * p[0] + a * p[1] + ty];
}

/** Least-squares similarity (rotation, uniform scale, translation) taking `from` onto `to`. */
export function estimateSimilarity(
  from: readonly Point[],
  to: readonly Point[],
  indices?: readonly number[],
): Similarity {
  const idx = indices ?? from.map((_, i) => i);
  let mx = 0;
  let my = 0;
  let nx = 0;
  let ny = 0;
  for (const i of idx) {
    mx += from[i][0];
    my += from[i][1];
    nx += to[i][0];
    ny += to[i][1];
  }
  const n = idx.length;
  mx /= n;
  my /= n;
  nx /= n;
  ny /= n;
  let sxx = 0;
  let sxy = 0;
  let norm = 0;
  for (const i of idx) {
    const x = from[i][0] - mx;
    const y = from[i][1] - my;
    const u = to[i][0] - nx;
    const v = to[i][1] - ny;
    sxx += x * u + y * v;
    sxy += x * v - y * u;
    norm += x * x + y * y;
  }
  if (norm === 0) return [1, 0, nx - mx, ny - my];
  const a = sxx / norm;
  const b = sxy / norm;
  return [a, b, nx - (a * mx - b * my), ny - (b * mx + a * my)];
}

/** Mean distance between the outer eye corners: a face-size measure that ignores the jaw. */
export function eyeDistance(pts: readonly Point[]): number {
  return Math.hypot(pts[45][0] - pts[36][0], pts[45][1] - pts[36][1]);
}

/**
 * Ten forehead points above the brows (the 68-point layout stops at the brows): each brow point
 * moved along the chin-to-nose-bridge direction by `amount` times that distance. Computed from
 * each face's own landmarks, so source and target forehead points correspond.
 */
export function foreheadPoints(pts: readonly Point[], amount: number): Point[] {
  const dx = pts[27][0] - pts[8][0];
  const dy = pts[27][1] - pts[8][1];
  const out: Point[] = [];
  for (let i = 17; i < 27; i++) out.push([pts[i][0] + amount * dx, pts[i][1] + amount * dy]);
  return out;
}
