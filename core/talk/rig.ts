/**
 * The face rig of the basic animator: control points (the 68 landmarks, two rows above the brows,
 * two rings around the face and the frame's border) with a fixed Delaunay triangulation, and the
 * rule that moves them for a pose: jaw drop and lip spread/rounding, eyelid closure, and a small
 * rigid head motion that fades out towards the frame's border.
 *
 * Everything is in crop pixels with pixel centres on integers.
 */
import { delaunay } from '../fusion/delaunay.ts';
import type { Point } from '../image/warp.ts';

export interface HeadPose {
  /** Radians, positive = clockwise on screen. */
  angle: number;
  /** Pixels. */
  dx: number;
  dy: number;
  /** Relative size change (0 = none). */
  scale: number;
}

export interface Pose {
  /** Mouth opening 0 (as in the portrait) .. 1 (wide open). */
  open: number;
  /** Lip shape -1 (rounded, as for "oo") .. 0 .. 1 (spread, as for "ee"). */
  width: number;
  /** Eyelids 0 (as in the portrait) .. 1 (closed). */
  blink: number;
  head?: HeadPose;
}

/**
 * Downward motion of each landmark per unit jaw drop (along the face's vertical axis): the lower
 * lip goes down, the chin half as far (the lips part as well as the jaw dropping), the jaw line fades out towards the ears;
 * the upper lip lifts slightly. Landmarks not listed stay.
 */
const DROP: Readonly<Record<number, number>> = {
  3: 0.02,
  4: 0.07,
  5: 0.18,
  6: 0.32,
  7: 0.45,
  8: 0.5,
  9: 0.45,
  10: 0.32,
  11: 0.18,
  12: 0.07,
  13: 0.02,
  48: 0.42,
  54: 0.42,
  60: 0.42,
  64: 0.42,
  49: -0.05,
  50: -0.1,
  51: -0.12,
  52: -0.1,
  53: -0.05,
  61: -0.12,
  62: -0.14,
  63: -0.12,
  55: 0.55,
  56: 0.85,
  57: 1,
  58: 0.85,
  59: 0.55,
  65: 0.88,
  66: 1,
  67: 0.88,
};

/** Jaw drop at full opening, as a share of the mouth's width (inner-lip gap about 0.3 of it: wider openings lowered the identity of the frames). */
export const MAX_DROP = 0.28;
/** Horizontal squeeze of the lips at full rounding, and stretch at full spread. */
const ROUND_SQUEEZE = 0.22;
const SPREAD_STRETCH = 0.07;
/** Where a closing upper lid meets the lower one (share of the way down). */
const LID_MEET = 0.8;

/** Upper-lid points and the lower-lid points they close onto. */
const LIDS: readonly (readonly [number, number])[] = [
  [37, 41],
  [38, 40],
  [43, 47],
  [44, 46],
];

const INNER_RING = 1.22;
const OUTER_RING = 1.7;

export class FaceRig {
  /** Source control points, x/y pairs. */
  readonly source: Float64Array;
  readonly count: number;
  /** Triangle vertex indices (three per triangle). */
  readonly triangles: Int32Array;
  /** Per triangle: 1 when a vertex moves with the face itself (mouth, jaw, eyelids). */
  readonly faceTriangles: Uint8Array;
  /** Per triangle: 1 when a vertex follows head motion. */
  readonly headTriangles: Uint8Array;
  /** How much each point follows head motion (1 face, 0.5 outer ring, 0 frame border). */
  private readonly headWeight: Float64Array;
  /** Face axes: unit vertical (brows to chin) and horizontal, the mouth centre, widths. */
  readonly axes: { vx: number; vy: number; ux: number; uy: number };
  readonly mouthCentre: readonly [number, number];
  readonly mouthWidth: number;
  readonly faceCentre: readonly [number, number];
  /** The inner-lip gap of the portrait itself (pixels). */
  readonly restGap: number;

  constructor(landmarks: readonly Point[], size: number) {
    if (landmarks.length !== 68) throw new Error(`the face rig needs 68 landmarks, got ${landmarks.length}`);
    const lm = landmarks;
    let vx = lm[8]![0] - lm[27]![0];
    let vy = lm[8]![1] - lm[27]![1];
    const vl = Math.hypot(vx, vy) || 1;
    vx /= vl;
    vy /= vl;
    this.axes = { vx, vy, ux: vy, uy: -vx };
    let mx = 0;
    let my = 0;
    for (let i = 48; i < 68; i++) {
      mx += lm[i]![0];
      my += lm[i]![1];
    }
    this.mouthCentre = [mx / 20, my / 20];
    this.mouthWidth = Math.hypot(lm[54]![0] - lm[48]![0], lm[54]![1] - lm[48]![1]);
    this.restGap = innerGap(lm);
    let cx = 0;
    let cy = 0;
    for (const p of lm) {
      cx += p[0];
      cy += p[1];
    }
    cx /= 68;
    cy /= 68;
    this.faceCentre = [cx, cy];

    const pts: [number, number][] = lm.map((p) => [p[0], p[1]]);
    const weight: number[] = pts.map(() => 1);
    const inside = (p: [number, number]): [number, number] => [
      Math.min(size - 2, Math.max(1, p[0])),
      Math.min(size - 2, Math.max(1, p[1])),
    ];
    const push = (p: [number, number], w: number) => {
      pts.push(inside(p));
      weight.push(w);
    };
    // Two rows above the brows (the forehead), moving with the head.
    const up = [lm[27]![0] - lm[8]![0], lm[27]![1] - lm[8]![1]];
    for (const amount of [0.25, 0.5])
      for (let i = 17; i < 27; i++) push([lm[i]![0] + amount * up[0]!, lm[i]![1] + amount * up[1]!], 1);
    // Rings around the jaw and the top of the head, scaled out from the face centre.
    const ring = (k: number, w: number, top: number) => {
      for (let i = 0; i < 17; i++) push([cx + k * (lm[i]![0] - cx), cy + k * (lm[i]![1] - cy)], w);
      for (const i of [19, 24]) push([lm[i]![0] + top * up[0]!, lm[i]![1] + top * up[1]!], w);
    };
    ring(INNER_RING, 1, 0.8);
    ring(OUTER_RING, 0.5, 1.2);
    // The frame border: four points per side, fixed.
    const e = size - 1;
    for (let i = 0; i < 4; i++) {
      const t = (i * e) / 4;
      push([t, 0], 0);
      push([e, t], 0);
      push([e - t, e], 0);
      push([0, e - t], 0);
    }
    // Border points must sit exactly on the border (the clamp above moved them in by one).
    for (let i = pts.length - 16; i < pts.length; i++) {
      const p = pts[i]!;
      p[0] = p[0] <= 1 ? 0 : p[0] >= size - 2 ? e : p[0];
      p[1] = p[1] <= 1 ? 0 : p[1] >= size - 2 ? e : p[1];
    }
    this.count = pts.length;
    this.source = Float64Array.from(pts.flat());
    this.headWeight = Float64Array.from(weight);

    // Triangulate the rig with the mouth open, so the lips' inner edges are separate rows of
    // vertices and the mouth interior gets its own triangles.
    const ref = new Float64Array(this.source.length);
    this.pose({ open: 1, width: 0, blink: 0 }, ref);
    const refPts: Point[] = [];
    for (let i = 0; i < this.count; i++) refPts.push([ref[2 * i]!, ref[2 * i + 1]!]);
    const tris = delaunay(refPts);
    this.triangles = Int32Array.from(tris.flat());
    const moves = new Uint8Array(this.count);
    for (const k of Object.keys(DROP)) moves[Number(k)] = 1;
    for (const [a, b] of LIDS) moves[a] = moves[b] = 1;
    this.faceTriangles = new Uint8Array(tris.length);
    this.headTriangles = new Uint8Array(tris.length);
    tris.forEach(([a, b, c], k) => {
      this.faceTriangles[k] = moves[a]! | moves[b]! | moves[c]!;
      this.headTriangles[k] =
        this.headWeight[a]! > 0 || this.headWeight[b]! > 0 || this.headWeight[c]! > 0 ? 1 : 0;
    });
  }

  /** Control points for a pose, written into `out` (x/y pairs). */
  pose(p: Pose, out: Float64Array): void {
    out.set(this.source);
    const { vx, vy, ux, uy } = this.axes;
    const drop = Math.max(0, Math.min(1, p.open)) * MAX_DROP * this.mouthWidth;
    for (const [k, w] of Object.entries(DROP)) {
      const i = Number(k);
      out[2 * i] += w * drop * vx;
      out[2 * i + 1] += w * drop * vy;
    }
    // Lip shape: a horizontal scale of the mouth points about the mouth centre.
    const width = Math.max(-1, Math.min(1, p.width));
    const s = width < 0 ? ROUND_SQUEEZE * width : SPREAD_STRETCH * width;
    if (s !== 0) {
      const [mx, my] = this.mouthCentre;
      for (let i = 48; i < 68; i++) {
        const along = (out[2 * i]! - mx) * ux + (out[2 * i + 1]! - my) * uy;
        out[2 * i] += s * along * ux;
        out[2 * i + 1] += s * along * uy;
      }
    }
    const blink = Math.max(0, Math.min(1, p.blink));
    if (blink > 0) {
      for (const [a, b] of LIDS) {
        const dx = this.source[2 * b]! - this.source[2 * a]!;
        const dy = this.source[2 * b + 1]! - this.source[2 * a + 1]!;
        out[2 * a] += blink * LID_MEET * dx;
        out[2 * a + 1] += blink * LID_MEET * dy;
        out[2 * b] -= blink * (1 - LID_MEET) * dx;
        out[2 * b + 1] -= blink * (1 - LID_MEET) * dy;
      }
    }
    const h = p.head;
    if (h && (h.angle !== 0 || h.dx !== 0 || h.dy !== 0 || h.scale !== 0)) {
      const [cx, cy] = this.faceCentre;
      const c = Math.cos(h.angle) * (1 + h.scale);
      const sn = Math.sin(h.angle) * (1 + h.scale);
      for (let i = 0; i < this.count; i++) {
        const w = this.headWeight[i]!;
        if (w === 0) continue;
        const x = out[2 * i]! - cx;
        const y = out[2 * i + 1]! - cy;
        const nx = cx + c * x - sn * y + h.dx;
        const ny = cy + sn * x + c * y + h.dy;
        out[2 * i] += w * (nx - out[2 * i]!);
        out[2 * i + 1] += w * (ny - out[2 * i + 1]!);
      }
    }
  }
}

/** Mean distance between the upper and lower inner lip (61-67, 62-66, 63-65), pixels. */
export function innerGap(lm: readonly Point[] | Float64Array): number {
  const at = (i: number): [number, number] =>
    lm instanceof Float64Array ? [lm[2 * i]!, lm[2 * i + 1]!] : [lm[i]![0], lm[i]![1]];
  let s = 0;
  for (const [a, b] of [
    [61, 67],
    [62, 66],
    [63, 65],
  ] as const) {
    const p = at(a);
    const q = at(b);
    s += Math.hypot(p[0] - q[0], p[1] - q[1]);
  }
  return s / 3;
}
