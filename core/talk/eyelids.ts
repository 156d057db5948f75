/**
 * Closed eyelids: when a blink brings the lids together, the warp alone leaves the lid margin
 * stretched along the meeting line (with bits of the white of the eye where the landmarks sit
 * just inside the lid). A closing eye gets a lash line drawn along the lids' meeting curve
 * (corner, the two lid meeting points, corner), dark as the eye's own darkest tone, fading in
 * with the blink and anti-aliased from the distance to the curve.
 */

/** Eye corners and lid pairs (upper, lower) in the 68-point layout, per eye. */
const EYES = [
  { outer: 36, inner: 39, lids: [37, 41, 38, 40] },
  { outer: 42, inner: 45, lids: [43, 47, 44, 46] },
] as const;

export class EyelidPainter {
  private readonly lash: [number, number, number][];

  /** `base`: the still crop (RGB, width wide) and its control points, to find each eye's lash colour. */
  constructor(base: Uint8Array, width: number, source: Float64Array) {
    this.lash = EYES.map((eye) => darkest(base, width, source, eye.outer, eye.inner));
  }

  /** Draw the lash lines for a blink of strength `blink` (0..1) on `frame` posed at `pts`. */
  paint(frame: Uint8Array, width: number, height: number, pts: Float64Array, blink: number): void {
    const alpha = 0.75 * Math.min(1, Math.max(0, (blink - 0.4) / 0.5));
    if (alpha <= 0) return;
    EYES.forEach((eye, e) => {
      const [u1, l1, u2, l2] = eye.lids;
      // The meeting curve: corner, midpoints of each lid pair, corner.
      const xs = [
        pts[2 * eye.outer]!,
        (pts[2 * u1]! + pts[2 * l1]!) / 2,
        (pts[2 * u2]! + pts[2 * l2]!) / 2,
        pts[2 * eye.inner]!,
      ];
      const ys = [
        pts[2 * eye.outer + 1]!,
        (pts[2 * u1 + 1]! + pts[2 * l1 + 1]!) / 2,
        (pts[2 * u2 + 1]! + pts[2 * l2 + 1]!) / 2,
        pts[2 * eye.inner + 1]!,
      ];
      const eyeW = Math.hypot(xs[3]! - xs[0]!, ys[3]! - ys[0]!);
      const half = Math.max(0.5, eyeW * 0.025);
      const x0 = Math.max(0, Math.floor(Math.min(...xs) - half - 1));
      const x1 = Math.min(width - 1, Math.ceil(Math.max(...xs) + half + 1));
      const y0 = Math.max(0, Math.floor(Math.min(...ys) - half - 1));
      const y1 = Math.min(height - 1, Math.ceil(Math.max(...ys) + half + 1));
      const [r, g, b] = this.lash[e]!;
      for (let y = y0; y <= y1; y++)
        for (let x = x0; x <= x1; x++) {
          let d = Infinity;
          let along = 0;
          for (let k = 0; k < 3; k++) {
            const [dk, t] = segmentDistance(x, y, xs[k]!, ys[k]!, xs[k + 1]!, ys[k + 1]!);
            if (dk < d) {
              d = dk;
              along = (k + t) / 3;
            }
          }
          // Thinner towards the corners.
          const w = half * (0.35 + 0.65 * Math.sin(Math.PI * along));
          const cover = Math.max(0, Math.min(1, w + 0.5 - d));
          if (cover <= 0) continue;
          const a = cover * alpha;
          const p = (y * width + x) * 3;
          frame[p] = frame[p]! + (r - frame[p]!) * a + 0.5;
          frame[p + 1] = frame[p + 1]! + (g - frame[p + 1]!) * a + 0.5;
          frame[p + 2] = frame[p + 2]! + (b - frame[p + 2]!) * a + 0.5;
        }
    });
  }
}

/** Distance from (x, y) to segment a-b, and where along it (0..1) the nearest point lies. */
function segmentDistance(
  x: number,
  y: number,
  ax: number,
  ay: number,
  bx: number,
  by: number,
): [number, number] {
  const ex = bx - ax;
  const ey = by - ay;
  const len2 = ex * ex + ey * ey;
  const t = len2 > 0 ? Math.max(0, Math.min(1, ((x - ax) * ex + (y - ay) * ey) / len2)) : 0;
  return [Math.hypot(ax + t * ex - x, ay + t * ey - y), t];
}

/** The mean colour of the darkest tenth of the pixels between an eye's corners (lashes, iris). */
function darkest(
  img: Uint8Array,
  width: number,
  pts: Float64Array,
  outer: number,
  inner: number,
): [number, number, number] {
  const ax = pts[2 * outer]!;
  const ay = pts[2 * outer + 1]!;
  const bx = pts[2 * inner]!;
  const by = pts[2 * inner + 1]!;
  const r = Math.max(2, Math.hypot(bx - ax, by - ay) * 0.25);
  const samples: [number, number, number, number][] = [];
  const height = img.length / 3 / width;
  for (let y = Math.floor(Math.min(ay, by) - r); y <= Math.ceil(Math.max(ay, by) + r); y++)
    for (let x = Math.floor(Math.min(ax, bx)); x <= Math.ceil(Math.max(ax, bx)); x++) {
      if (x < 0 || y < 0 || x >= width || y >= height) continue;
      const p = (y * width + x) * 3;
      samples.push([img[p]! + img[p + 1]! + img[p + 2]!, img[p]!, img[p + 1]!, img[p + 2]!]);
    }
  if (!samples.length) return [40, 30, 30];
  samples.sort((s, t) => s[0] - t[0]);
  const n = Math.max(1, Math.floor(samples.length / 10));
  const out: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[c] += samples[i]![c + 1]! / n;
  return out;
}
