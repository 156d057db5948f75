/**
 * The inside of an opened mouth, painted over the warped frame: a dark cavity bounded by a
 * smooth curve through the inner-lip landmarks (60-67), lighter near the lips, a tongue tint low
 * down, the upper teeth as a pale band under the upper lip (and a narrow lower band) across the
 * middle of the mouth.
 *
 * Work is done in mouth axes (along the lips, down the face) so a tilted head is painted right:
 * the outline's upper and lower edges are tabulated once per frame by position along the lips,
 * which makes each pixel O(1) (inside test, distance to the lips, teeth bands). Edges are
 * anti-aliased over one pixel of that distance.
 */

/** Points of the smooth outline per landmark segment (8 segments). */
const SUB = 6;
const OUTLINE = 8 * SUB;
/** Edge tables hold one entry per half pixel along the lips. */
const BIN = 0.5;
const MAX_BINS = 4096;

const CAVITY_DEEP: readonly [number, number, number] = [20, 7, 9];
const CAVITY_EDGE: readonly [number, number, number] = [84, 32, 36];
/** The tongue's tint in the lower part of the cavity. */
const TONGUE: readonly [number, number, number] = [128, 52, 56];
const TEETH: readonly [number, number, number] = [222, 214, 200];
const TEETH_SHADE: readonly [number, number, number] = [150, 138, 128];

export interface FaceAxes {
  /** Unit vector along the lips (towards the image's right for an upright face). */
  ux: number;
  uy: number;
  /** Unit vector down the face. */
  vx: number;
  vy: number;
}

export class MouthPainter {
  /** Outline in mouth axes (along, down) about the mouth centre, closed. */
  private readonly local = new Float64Array(OUTLINE * 2);
  private readonly upper = new Float64Array(MAX_BINS);
  private readonly lower = new Float64Array(MAX_BINS);

  constructor(private readonly axes: FaceAxes) {}

  /**
   * Paint into `frame` (RGB, `width` x `height`). `pts` holds the frame's control points (x/y
   * pairs, landmark i at 2i). `strength` 0..1 fades the cavity in as the mouth opens beyond the
   * portrait's own gap; `teeth` is the upper band's height in pixels.
   */
  paint(
    frame: Uint8Array,
    width: number,
    height: number,
    pts: Float64Array,
    strength: number,
    teeth: number,
  ): void {
    if (strength <= 0) return;
    const { ux, uy, vx, vy } = this.axes;
    // Mouth centre: midway between the inner corners (60, 64).
    const mx = (pts[120]! + pts[128]!) / 2;
    const my = (pts[121]! + pts[129]!) / 2;
    this.outline(pts, mx, my);
    const span = this.tabulate();
    if (!span) return;
    const { from, bins } = span;
    const upper = this.upper;
    const lower = this.lower;
    let gap = 0;
    for (let i = 0; i < bins; i++) gap = Math.max(gap, lower[i]! - upper[i]!);
    if (gap <= 0) return;
    const half = (bins - 1) * BIN * 0.5;
    const mid = from + half;
    // Pixel bounds: the outline's extent back in image axes, one pixel of margin.
    let x0 = Infinity;
    let x1 = -Infinity;
    let y0 = Infinity;
    let y1 = -Infinity;
    const local = this.local;
    for (let i = 0; i < OUTLINE; i++) {
      const a = local[2 * i]!;
      const d = local[2 * i + 1]!;
      const x = mx + a * ux + d * vx;
      const y = my + a * uy + d * vy;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
    const px0 = Math.max(0, Math.floor(x0) - 1);
    const px1 = Math.min(width - 1, Math.ceil(x1) + 1);
    const py0 = Math.max(0, Math.floor(y0) - 1);
    const py1 = Math.min(height - 1, Math.ceil(y1) + 1);
    const depthScale = 1 / Math.max(2, gap * 0.35);
    for (let y = py0; y <= py1; y++) {
      for (let x = px0; x <= px1; x++) {
        const along = (x - mx) * ux + (y - my) * uy;
        const down = (x - mx) * vx + (y - my) * vy;
        const f = (along - from) / BIN;
        if (f < 0 || f > bins - 1) continue;
        const i = Math.min(bins - 2, f | 0);
        const t = f - i;
        const up = upper[i]! + t * (upper[i + 1]! - upper[i]!);
        const lo = lower[i]! + t * (lower[i + 1]! - lower[i]!);
        const fromTop = down - up;
        const fromBottom = lo - down;
        const d = Math.min(fromTop, fromBottom);
        const cover = d >= 0.5 ? 1 : d <= -0.5 ? 0 : d + 0.5;
        if (cover <= 0) continue;
        // Cavity: lighter near the lips, darker inside.
        const depth = Math.min(1, Math.max(0, d) * depthScale);
        let r = CAVITY_EDGE[0] + (CAVITY_DEEP[0] - CAVITY_EDGE[0]) * depth;
        let g = CAVITY_EDGE[1] + (CAVITY_DEEP[1] - CAVITY_EDGE[1]) * depth;
        let b = CAVITY_EDGE[2] + (CAVITY_DEEP[2] - CAVITY_EDGE[2]) * depth;
        const across = Math.abs(along - mid) / Math.max(1, half);
        // The tongue shows in the lower part, fading towards the corners.
        const tongue = 0.45 * Math.max(0, 1 - fromBottom / (0.45 * gap)) * Math.max(0, 1 - across);
        r += (TONGUE[0] - r) * tongue;
        g += (TONGUE[1] - g) * tongue;
        b += (TONGUE[2] - b) * tongue;
        // Teeth: bands under the upper lip and over the lower one, tapering towards the corners.
        if (across < 0.75 && teeth > 0) {
          const taper = 1 - (across / 0.75) ** 2;
          const upperBand = teeth * taper;
          const lowerBand = teeth * 0.3 * taper;
          const inUpper = fromTop < upperBand;
          const tt = inUpper
            ? Math.min(1, upperBand - fromTop)
            : fromBottom < lowerBand
              ? Math.min(1, lowerBand - fromBottom)
              : 0;
          if (tt > 0) {
            // Teeth darken towards their tips (away from the lip), where the cavity shows through.
            const tip = inUpper ? fromTop / Math.max(1, upperBand) : fromBottom / Math.max(1, lowerBand);
            r += (TEETH[0] + (TEETH_SHADE[0] - TEETH[0]) * tip - r) * tt;
            g += (TEETH[1] + (TEETH_SHADE[1] - TEETH[1]) * tip - g) * tt;
            b += (TEETH[2] + (TEETH_SHADE[2] - TEETH[2]) * tip - b) * tt;
          }
        }
        const a = cover * strength;
        const p = (y * width + x) * 3;
        frame[p] = frame[p]! + (r - frame[p]!) * a + 0.5;
        frame[p + 1] = frame[p + 1]! + (g - frame[p + 1]!) * a + 0.5;
        frame[p + 2] = frame[p + 2]! + (b - frame[p + 2]!) * a + 0.5;
      }
    }
  }

  /**
   * A closed Catmull-Rom curve through the inner-lip points 60..67 (SUB points per segment, so
   * the cavity is round instead of an octagon), in mouth axes about (mx, my).
   */
  private outline(pts: Float64Array, mx: number, my: number): void {
    const { ux, uy, vx, vy } = this.axes;
    const local = this.local;
    for (let s = 0; s < 8; s++) {
      const i0 = 60 + ((s + 7) % 8);
      const i1 = 60 + s;
      const i2 = 60 + ((s + 1) % 8);
      const i3 = 60 + ((s + 2) % 8);
      for (let k = 0; k < SUB; k++) {
        const t = k / SUB;
        const t2 = t * t;
        const t3 = t2 * t;
        const c0 = -0.5 * t3 + t2 - 0.5 * t;
        const c1 = 1.5 * t3 - 2.5 * t2 + 1;
        const c2 = -1.5 * t3 + 2 * t2 + 0.5 * t;
        const c3 = 0.5 * t3 - 0.5 * t2;
        const x = c0 * pts[2 * i0]! + c1 * pts[2 * i1]! + c2 * pts[2 * i2]! + c3 * pts[2 * i3]! - mx;
        const y =
          c0 * pts[2 * i0 + 1]! + c1 * pts[2 * i1 + 1]! + c2 * pts[2 * i2 + 1]! + c3 * pts[2 * i3 + 1]! - my;
        const o = 2 * (s * SUB + k);
        local[o] = x * ux + y * uy;
        local[o + 1] = x * vx + y * vy;
      }
    }
  }

  /**
   * Fill the edge tables between the corners: `upper` from the curve's first half (60 -> 64),
   * `lower` from the second (64 -> 60), each the highest/lowest crossing at that position.
   */
  private tabulate(): { from: number; bins: number } | undefined {
    const local = this.local;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < OUTLINE; i++) {
      lo = Math.min(lo, local[2 * i]!);
      hi = Math.max(hi, local[2 * i]!);
    }
    const bins = Math.min(MAX_BINS, Math.floor((hi - lo) / BIN) + 1);
    if (bins < 2) return undefined;
    const upper = this.upper;
    const lower = this.lower;
    upper.fill(Infinity, 0, bins);
    lower.fill(-Infinity, 0, bins);
    for (let s = 0; s < OUTLINE; s++) {
      const e = (s + 1) % OUTLINE;
      const a0 = local[2 * s]!;
      const d0 = local[2 * s + 1]!;
      const a1 = local[2 * e]!;
      const d1 = local[2 * e + 1]!;
      const isUpper = s < OUTLINE / 2;
      const b0 = Math.max(0, Math.ceil((Math.min(a0, a1) - lo) / BIN));
      const b1 = Math.min(bins - 1, Math.floor((Math.max(a0, a1) - lo) / BIN));
      for (let b = b0; b <= b1; b++) {
        const a = lo + b * BIN;
        const d = a1 === a0 ? Math.min(d0, d1) : d0 + ((a - a0) / (a1 - a0)) * (d1 - d0);
        if (isUpper) upper[b] = Math.min(upper[b]!, d);
        else lower[b] = Math.max(lower[b]!, d);
      }
    }
    // Bins no segment reached (a curve folding back near a corner): take a neighbour's value.
    for (let b = 1; b < bins; b++) {
      if (!Number.isFinite(upper[b]!)) upper[b] = upper[b - 1]!;
      if (!Number.isFinite(lower[b]!)) lower[b] = lower[b - 1]!;
    }
    for (let b = bins - 2; b >= 0; b--) {
      if (!Number.isFinite(upper[b]!)) upper[b] = upper[b + 1]!;
      if (!Number.isFinite(lower[b]!)) lower[b] = lower[b + 1]!;
    }
    if (!Number.isFinite(upper[0]!) || !Number.isFinite(lower[0]!)) return undefined;
    return { from: lo, bins };
  }
}
