/**
 * Piecewise affine warp: each target triangle is filled by sampling the corresponding source
 * triangle (bilinear). Adjacent triangles share edges, so the map is continuous across the mesh.
 * Pixel centres are at integer coordinates, the same convention landmarks use.
 */
import type { Triangle } from './delaunay.ts';
import type { FloatRgb, Mask, Point, Rect, RgbImage } from './raster.ts';
import { floatRgb, mask } from './raster.ts';

export interface WarpResult {
  /** The warped source over the target rectangle (rect-sized, 0 where not covered). */
  image: FloatRgb;
  /** 1 where a triangle covered the pixel, else 0. */
  coverage: Mask;
}

/** Sample an 8-bit RGB image at (x, y) with bilinear interpolation, clamped to the edges. */
function sampleInto(src: RgbImage, x: number, y: number, out: Float32Array, o: number): void {
  const w = src.width;
  const h = src.height;
  if (x < 0) x = 0;
  else if (x > w - 1) x = w - 1;
  if (y < 0) y = 0;
  else if (y > h - 1) y = h - 1;
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const x1 = x0 + 1 < w ? x0 + 1 : x0;
  const y1 = y0 + 1 < h ? y0 + 1 : y0;
  const fx = x - x0;
  const fy = y - y0;
  const d = src.data;
  const i00 = (y0 * w + x0) * 3;
  const i01 = (y0 * w + x1) * 3;
  const i10 = (y1 * w + x0) * 3;
  const i11 = (y1 * w + x1) * 3;
  const w00 = (1 - fx) * (1 - fy);
  const w01 = fx * (1 - fy);
  const w10 = (1 - fx) * fy;
  const w11 = fx * fy;
  out[o] = d[i00] * w00 + d[i01] * w01 + d[i10] * w10 + d[i11] * w11;
  out[o + 1] = d[i00 + 1] * w00 + d[i01 + 1] * w01 + d[i10 + 1] * w10 + d[i11 + 1] * w11;
  out[o + 2] = d[i00 + 2] * w00 + d[i01 + 2] * w01 + d[i10 + 2] * w10 + d[i11 + 2] * w11;
}

/**
 * The affine map taking triangle `from` onto triangle `to`, as [a, b, c, d, e, f] with
 * x' = a·x + b·y + c, y' = d·x + e·y + f. Null for a degenerate `from` triangle.
 */
export function triangleAffine(from: readonly Point[], to: readonly Point[]): number[] | null {
  const [[x0, y0], [x1, y1], [x2, y2]] = from;
  const det = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0);
  if (Math.abs(det) < 1e-12) return null;
  // Barycentric weights l1, l2 as affine functions of (x, y); l0 = 1 - l1 - l2.
  const l1x = (y2 - y0) / det;
  const l1y = -(x2 - x0) / det;
  const l1c = -(l1x * x0 + l1y * y0);
  const l2x = -(y1 - y0) / det;
  const l2y = (x1 - x0) / det;
  const l2c = -(l2x * x0 + l2y * y0);
  const [[u0, v0], [u1, v1], [u2, v2]] = to;
  return [
    (u1 - u0) * l1x + (u2 - u0) * l2x,
    (u1 - u0) * l1y + (u2 - u0) * l2y,
    u0 + (u1 - u0) * l1c + (u2 - u0) * l2c,
    (v1 - v0) * l1x + (v2 - v0) * l2x,
    (v1 - v0) * l1y + (v2 - v0) * l2y,
    v0 + (v1 - v0) * l1c + (v2 - v0) * l2c,
  ];
}

/**
 * Warp `src` so that srcPts land on dstPts, filling the triangles (indices into both point
 * lists) inside `rect` of the target frame.
 */
export function piecewiseAffineWarp(
  src: RgbImage,
  srcPts: readonly Point[],
  dstPts: readonly Point[],
  triangles: readonly Triangle[],
  rect: Rect,
): WarpResult {
  const rw = rect.x1 - rect.x0;
  const rh = rect.y1 - rect.y0;
  const image = floatRgb(rw, rh);
  const coverage = mask(rw, rh);
  const out = image.data;
  const cov = coverage.data;
  for (const [ia, ib, ic] of triangles) {
    const d0 = dstPts[ia];
    const d1 = dstPts[ib];
    const d2 = dstPts[ic];
    const m = triangleAffine([d0, d1, d2], [srcPts[ia], srcPts[ib], srcPts[ic]]);
    if (!m) continue;
    const [a, b, c, d, e, f] = m;
    // Edge functions oriented so that inside is >= 0 whatever the winding.
    const sgn = (d1[0] - d0[0]) * (d2[1] - d0[1]) - (d1[1] - d0[1]) * (d2[0] - d0[0]) > 0 ? 1 : -1;
    const edges = [
      [d0, d1],
      [d1, d2],
      [d2, d0],
    ].map(([p, q]) => {
      // E(x, y) = A·x + B·y + C, >= 0 inside.
      const A = -(q[1] - p[1]) * sgn;
      const B = (q[0] - p[0]) * sgn;
      const C = -(A * p[0] + B * p[1]);
      // Tolerance of a thousandth of a pixel so shared edges are covered by both triangles.
      const tol = 1e-3 * Math.hypot(A, B);
      return [A, B, C + tol];
    });
    const [[A0, B0, C0], [A1, B1, C1], [A2, B2, C2]] = edges;
    const minX = Math.max(rect.x0, Math.ceil(Math.min(d0[0], d1[0], d2[0])));
    const maxX = Math.min(rect.x1 - 1, Math.floor(Math.max(d0[0], d1[0], d2[0])));
    const minY = Math.max(rect.y0, Math.ceil(Math.min(d0[1], d1[1], d2[1])));
    const maxY = Math.min(rect.y1 - 1, Math.floor(Math.max(d0[1], d1[1], d2[1])));
    for (let y = minY; y <= maxY; y++) {
      let e0 = A0 * minX + B0 * y + C0;
      let e1 = A1 * minX + B1 * y + C1;
      let e2 = A2 * minX + B2 * y + C2;
      const row = (y - rect.y0) * rw - rect.x0;
      for (let x = minX; x <= maxX; x++, e0 += A0, e1 += A1, e2 += A2) {
        if (e0 < 0 || e1 < 0 || e2 < 0) continue;
        const p = row + x;
        if (cov[p] === 1) continue;
        cov[p] = 1;
        sampleInto(src, a * x + b * y + c, d * x + e * y + f, out, p * 3);
      }
    }
  }
  return { image, coverage };
}
