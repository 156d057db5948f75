import { describe, expect, it } from 'vitest';
import { delaunay, orient } from '../../core/fusion/delaunay.ts';
import { applySimilarity, estimateSimilarity } from '../../core/fusion/landmarks.ts';
import { convexHull } from '../../core/fusion/mask.ts';
import type { Point } from '../../core/fusion/raster.ts';
import { piecewiseAffineWarp, triangleAffine } from '../../core/fusion/warp.ts';

/** Deterministic pseudo-random numbers (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function polyArea(poly: readonly Point[]): number {
  let a = 0;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++)
    a += poly[j][0] * poly[i][1] - poly[i][0] * poly[j][1];
  return Math.abs(a) / 2;
}

describe('delaunay', () => {
  it('tiles the convex hull exactly and keeps every circumcircle empty', () => {
    const r = rng(7);
    const pts: Point[] = Array.from({ length: 80 }, () => [r() * 300, r() * 200] as Point);
    const tris = delaunay(pts);
    const total = tris.reduce((s, [a, b, c]) => s + Math.abs(orient(pts[a], pts[b], pts[c])) / 2, 0);
    expect(total).toBeCloseTo(polyArea(convexHull(pts)), 6);
    // Euler: a triangulation of n points with h on the hull has 2n - 2 - h triangles.
    expect(tris.length).toBe(2 * pts.length - 2 - convexHull(pts).length);
    for (const [a, b, c] of tris) {
      const [ax, ay] = pts[a];
      const [bx, by] = pts[b];
      const [cx, cy] = pts[c];
      const d = 2 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by));
      const ux =
        ((ax ** 2 + ay ** 2) * (by - cy) +
          (bx ** 2 + by ** 2) * (cy - ay) +
          (cx ** 2 + cy ** 2) * (ay - by)) /
        d;
      const uy =
        ((ax ** 2 + ay ** 2) * (cx - bx) +
          (bx ** 2 + by ** 2) * (ax - cx) +
          (cx ** 2 + cy ** 2) * (bx - ax)) /
        d;
      const r2 = (ax - ux) ** 2 + (ay - uy) ** 2;
      for (let i = 0; i < pts.length; i++) {
        if (i === a || i === b || i === c) continue;
        expect((pts[i][0] - ux) ** 2 + (pts[i][1] - uy) ** 2).toBeGreaterThan(r2 * (1 - 1e-9));
      }
    }
  });

  it('survives duplicates and collinear points', () => {
    const pts: Point[] = [
      [0, 0],
      [10, 0],
      [20, 0],
      [30, 0],
      [0, 10],
      [30, 10],
      [10, 0],
    ];
    const tris = delaunay(pts);
    const total = tris.reduce((s, [a, b, c]) => s + Math.abs(orient(pts[a], pts[b], pts[c])) / 2, 0);
    expect(total).toBeCloseTo(300, 9);
    expect(tris.every((t) => !t.includes(6))).toBe(true);
    expect(
      delaunay([
        [0, 0],
        [1, 1],
        [2, 2],
      ]),
    ).toEqual([]);
  });
});

describe('similarity and affine maps', () => {
  it('estimateSimilarity recovers a known rotation, scale and shift', () => {
    const r = rng(3);
    const from: Point[] = Array.from({ length: 20 }, () => [r() * 100, r() * 100] as Point);
    const s = 1.7;
    const th = 0.4;
    const to = from.map(
      ([x, y]) =>
        [
          s * (Math.cos(th) * x - Math.sin(th) * y) + 12,
          s * (Math.sin(th) * x + Math.cos(th) * y) - 5,
        ] as Point,
    );
    const m = estimateSimilarity(from, to);
    expect(m[0]).toBeCloseTo(s * Math.cos(th), 9);
    expect(m[1]).toBeCloseTo(s * Math.sin(th), 9);
    for (let i = 0; i < from.length; i++) {
      const p = applySimilarity(m, from[i]);
      expect(p[0]).toBeCloseTo(to[i][0], 8);
      expect(p[1]).toBeCloseTo(to[i][1], 8);
    }
  });

  it('triangleAffine maps each vertex onto its partner', () => {
    const from: Point[] = [
      [1, 2],
      [40, 5],
      [10, 30],
    ];
    const to: Point[] = [
      [100, 50],
      [120, 90],
      [60, 70],
    ];
    const [a, b, c, d, e, f] = triangleAffine(from, to)!;
    for (let i = 0; i < 3; i++) {
      expect(a * from[i][0] + b * from[i][1] + c).toBeCloseTo(to[i][0], 9);
      expect(d * from[i][0] + e * from[i][1] + f).toBeCloseTo(to[i][1], 9);
    }
    expect(
      triangleAffine(
        [
          [0, 0],
          [1, 1],
          [2, 2],
        ],
        to,
      ),
    ).toBeNull();
  });
});

describe('piecewiseAffineWarp', () => {
  it('reproduces the analytic result of a known affine map', () => {
    // Source channels are affine functions of position, so bilinear sampling is exact and the
    // warped value at (x, y) must equal that function at M(x, y).
    const W = 120;
    const H = 100;
    const src = { width: W, height: H, data: new Uint8Array(W * H * 3) };
    const fR = (x: number, _y: number) => 2 * x;
    const fG = (_x: number, y: number) => 2 * y + 30;
    const fB = (x: number, y: number) => x + y;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = (y * W + x) * 3;
        src.data[i] = fR(x, y);
        src.data[i + 1] = fG(x, y);
        src.data[i + 2] = fB(x, y);
      }
    }
    // M: target (x, y) -> source; the target mesh is a jittered grid.
    const M = (x: number, y: number): Point => [0.8 * x + 0.2 * y + 10, -0.1 * x + 0.9 * y + 15];
    const r = rng(11);
    const dst: Point[] = [];
    for (let gy = 0; gy <= 4; gy++) {
      for (let gx = 0; gx <= 4; gx++) {
        const jitter = gx > 0 && gx < 4 && gy > 0 && gy < 4 ? 6 : 0;
        dst.push([10 + gx * 20 + (r() - 0.5) * jitter, 5 + gy * 20 + (r() - 0.5) * jitter]);
      }
    }
    const srcPts = dst.map(([x, y]) => M(x, y));
    const rect = { x0: 0, y0: 0, x1: 110, y1: 90 };
    const { image, coverage } = piecewiseAffineWarp(src, srcPts, dst, delaunay(dst), rect);
    let covered = 0;
    for (let y = rect.y0; y < rect.y1; y++) {
      for (let x = rect.x0; x < rect.x1; x++) {
        const p = (y - rect.y0) * (rect.x1 - rect.x0) + (x - rect.x0);
        const inside = x >= 10 && x <= 90 && y >= 5 && y <= 85;
        expect(coverage.data[p]).toBe(inside ? 1 : 0);
        if (!inside) continue;
        covered++;
        const [sx, sy] = M(x, y);
        expect(image.data[p * 3]).toBeCloseTo(fR(sx, sy), 3);
        expect(image.data[p * 3 + 1]).toBeCloseTo(fG(sx, sy), 3);
        expect(image.data[p * 3 + 2]).toBeCloseTo(fB(sx, sy), 3);
      }
    }
    expect(covered).toBe(81 * 81);
  });
});
