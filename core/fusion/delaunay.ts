/**
 * Delaunay triangulation (Bowyer–Watson). Face meshes have ~70 points, so the simple O(n²)
 * algorithm is plenty; it returns index triples into the input so the same triangles can be
 * used on two landmark sets (source and target) that correspond point by point.
 */
import type { Point } from './raster.ts';

export type Triangle = readonly [number, number, number];

interface Tri {
  a: number;
  b: number;
  c: number;
  /** Circumcircle centre and squared radius. */
  cx: number;
  cy: number;
  r2: number;
}

function makeTri(pts: Point[], a: number, b: number, c: number): Tri {
  const [ax, ay] = pts[a];
  const [bx, by] = pts[b];
  const [cx, cy] = pts[c];
  const d = 2 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by));
  if (d === 0) return { a, b, c, cx: 0, cy: 0, r2: Number.POSITIVE_INFINITY };
  const a2 = ax * ax + ay * ay;
  const b2 = bx * bx + by * by;
  const c2 = cx * cx + cy * cy;
  const ux = (a2 * (by - cy) + b2 * (cy - ay) + c2 * (ay - by)) / d;
  const uy = (a2 * (cx - bx) + b2 * (ax - cx) + c2 * (bx - ax)) / d;
  return { a, b, c, cx: ux, cy: uy, r2: (ax - ux) ** 2 + (ay - uy) ** 2 };
}

/** Twice the signed area of triangle abc (positive when counter-clockwise in y-up axes). */
export function orient(p: Point, q: Point, r: Point): number {
  return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]);
}

/**
 * Triangulate points. Exact duplicates are triangulated once (the later copy is left out of
 * every triangle); triangles of (near) zero area are dropped.
 */
export function delaunay(points: readonly Point[]): Triangle[] {
  const n = points.length;
  if (n < 3) return [];
  let minX = Number.POSITIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  let maxX = Number.NEGATIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  for (const [x, y] of points) {
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x);
    maxY = Math.max(maxY, y);
  }
  const span = Math.max(maxX - minX, maxY - minY, 1);
  const midX = (minX + maxX) / 2;
  const midY = (minY + maxY) / 2;
  // A super-triangle far outside the points; its vertices get indices n, n+1, n+2.
  const pts: Point[] = [
    ...points,
    [midX - 20 * span, midY - span],
    [midX, midY + 20 * span],
    [midX + 20 * span, midY - span],
  ];
  let tris: Tri[] = [makeTri(pts, n, n + 1, n + 2)];
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const [px, py] = pts[i];
    const key = `${px},${py}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const bad: Tri[] = [];
    const keep: Tri[] = [];
    for (const t of tris) {
      const dx = px - t.cx;
      const dy = py - t.cy;
      if (dx * dx + dy * dy <= t.r2 * (1 + 1e-12)) bad.push(t);
      else keep.push(t);
    }
    // The boundary of the cavity: edges that belong to exactly one bad triangle.
    const edgeCount = new Map<string, [number, number, number]>();
    for (const t of bad) {
      for (const [u, v] of [
        [t.a, t.b],
        [t.b, t.c],
        [t.c, t.a],
      ]) {
        const k = u < v ? `${u}_${v}` : `${v}_${u}`;
        const e = edgeCount.get(k);
        if (e) e[2]++;
        else edgeCount.set(k, [u, v, 1]);
      }
    }
    for (const [u, v, count] of edgeCount.values()) {
      if (count === 1) keep.push(makeTri(pts, u, v, i));
    }
    tris = keep;
  }
  const areaEps = 1e-9 * span * span;
  const out: Triangle[] = [];
  for (const t of tris) {
    if (t.a >= n || t.b >= n || t.c >= n) continue;
    if (Math.abs(orient(pts[t.a], pts[t.b], pts[t.c])) <= areaEps) continue;
    out.push([t.a, t.b, t.c]);
  }
  return out;
}
