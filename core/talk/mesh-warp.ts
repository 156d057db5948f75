/**
 * Piecewise-affine warping for animation: a fixed triangle mesh over a fixed source image,
 * re-rendered every frame with moved vertices. Unlike core/fusion/warp.ts (one warp into a float
 * work buffer), this writes 8-bit RGB straight into the frame, keeps every per-frame quantity in
 * preallocated typed arrays and renders only the triangles whose vertices moved: with the head
 * still, everything outside the moving face stays the source's own bytes.
 * Pixel centres are on integer coordinates, as in the mesh's landmarks.
 */
import type { RgbImage } from '../image/codec.ts';

export class MeshWarp {
  /** Triangle vertex indices, three per triangle. */
  readonly triangles: Int32Array;
  private readonly src: RgbImage;
  private readonly srcPts: Float64Array;
  /** Per-triangle affine (destination -> source), six numbers each, refilled per frame. */
  private readonly maps: Float64Array;

  constructor(src: RgbImage, srcPts: Float64Array, triangles: Int32Array) {
    this.src = src;
    this.srcPts = srcPts;
    this.triangles = triangles;
    this.maps = new Float64Array((triangles.length / 3) * 6);
  }

  get triangleCount(): number {
    return this.triangles.length / 3;
  }

  /**
   * Render the triangles flagged in `active` (all when omitted) with destination vertices
   * `dst` (x, y pairs, same order as the source points) into `out` (RGB, source size), which
   * must already hold what the other triangles show (usually the source image itself).
   */
  render(dst: Float64Array, out: Uint8Array, active?: Uint8Array): void {
    const t = this.triangles;
    const n = t.length / 3;
    for (let k = 0; k < n; k++) {
      if (active && active[k] === 0) continue;
      const a = t[3 * k]!;
      const b = t[3 * k + 1]!;
      const c = t[3 * k + 2]!;
      if (this.solve(k, dst, a, b, c)) this.fill(k, dst, a, b, c, out);
    }
  }

  /** The affine taking destination triangle (a, b, c) onto the source one; false if degenerate. */
  private solve(k: number, dst: Float64Array, a: number, b: number, c: number): boolean {
    const x0 = dst[2 * a]!;
    const y0 = dst[2 * a + 1]!;
    const x1 = dst[2 * b]!;
    const y1 = dst[2 * b + 1]!;
    const x2 = dst[2 * c]!;
    const y2 = dst[2 * c + 1]!;
    const det = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0);
    // Below a hundredth of a square pixel the triangle covers nothing worth sampling.
    if (Math.abs(det) < 1e-2) return false;
    const s = this.srcPts;
    const u0 = s[2 * a]!;
    const v0 = s[2 * a + 1]!;
    const du1 = s[2 * b]! - u0;
    const dv1 = s[2 * b + 1]! - v0;
    const du2 = s[2 * c]! - u0;
    const dv2 = s[2 * c + 1]! - v0;
    // Barycentric l1, l2 as affine functions of (x, y).
    const l1x = (y2 - y0) / det;
    const l1y = -(x2 - x0) / det;
    const l1c = -(l1x * x0 + l1y * y0);
    const l2x = -(y1 - y0) / det;
    const l2y = (x1 - x0) / det;
    const l2c = -(l2x * x0 + l2y * y0);
    const m = this.maps;
    const o = 6 * k;
    m[o] = du1 * l1x + du2 * l2x;
    m[o + 1] = du1 * l1y + du2 * l2y;
    m[o + 2] = u0 + du1 * l1c + du2 * l2c;
    m[o + 3] = dv1 * l1x + dv2 * l2x;
    m[o + 4] = dv1 * l1y + dv2 * l2y;
    m[o + 5] = v0 + dv1 * l1c + dv2 * l2c;
    return true;
  }

  /**
   * Scan-convert one triangle, sampling the source bilinearly. Each row's covered span is solved
   * from the three edge equations, so the inner loop tests nothing; triangles whose source lies
   * inside the image (nearly all) skip the edge clamping too.
   */
  private fill(k: number, dst: Float64Array, a: number, b: number, c: number, out: Uint8Array): void {
    const { width: w, height: h } = this.src;
    const x0 = dst[2 * a]!;
    const y0 = dst[2 * a + 1]!;
    const x1 = dst[2 * b]!;
    const y1 = dst[2 * b + 1]!;
    const x2 = dst[2 * c]!;
    const y2 = dst[2 * c + 1]!;
    const sgn = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0) > 0 ? 1 : -1;
    // Edge functions E = A x + B y + C, >= 0 inside (a thousandth of a pixel of slack so shared
    // edges are covered by both triangles and no pixel falls between them).
    const edges = this.edges;
    edges[0] = -(y1 - y0) * sgn;
    edges[1] = (x1 - x0) * sgn;
    edges[2] = -(edges[0] * x0 + edges[1] * y0) + 1e-3 * Math.hypot(edges[0], edges[1]);
    edges[3] = -(y2 - y1) * sgn;
    edges[4] = (x2 - x1) * sgn;
    edges[5] = -(edges[3] * x1 + edges[4] * y1) + 1e-3 * Math.hypot(edges[3], edges[4]);
    edges[6] = -(y0 - y2) * sgn;
    edges[7] = (x0 - x2) * sgn;
    edges[8] = -(edges[6] * x2 + edges[7] * y2) + 1e-3 * Math.hypot(edges[6], edges[7]);
    const minX = Math.max(0, Math.ceil(Math.min(x0, x1, x2)));
    const maxX = Math.min(w - 1, Math.floor(Math.max(x0, x1, x2)));
    const minY = Math.max(0, Math.ceil(Math.min(y0, y1, y2)));
    const maxY = Math.min(h - 1, Math.floor(Math.max(y0, y1, y2)));
    if (minX > maxX || minY > maxY) return;
    const s = this.srcPts;
    const inside =
      Math.min(s[2 * a]!, s[2 * b]!, s[2 * c]!) >= 0.01 &&
      Math.max(s[2 * a]!, s[2 * b]!, s[2 * c]!) <= w - 1.01 &&
      Math.min(s[2 * a + 1]!, s[2 * b + 1]!, s[2 * c + 1]!) >= 0.01 &&
      Math.max(s[2 * a + 1]!, s[2 * b + 1]!, s[2 * c + 1]!) <= h - 1.01;
    for (let y = minY; y <= maxY; y++) {
      // The row's span: each edge bounds x from one side.
      let lo = minX;
      let hi = maxX;
      for (let e = 0; e < 9; e += 3) {
        const A = edges[e]!;
        const rest = edges[e + 1]! * y + edges[e + 2]!;
        if (A > 1e-12) lo = Math.max(lo, Math.ceil(-rest / A));
        else if (A < -1e-12) hi = Math.min(hi, Math.floor(-rest / A));
        else if (rest < 0) hi = -1;
      }
      if (lo > hi) continue;
      if (inside) this.spanInside(k, y, lo, hi, out);
      else this.spanClamped(k, y, lo, hi, out);
    }
  }

  private readonly edges = new Float64Array(9);

  /** One row of a triangle whose source lies inside the image: no clamping needed. */
  private spanInside(k: number, y: number, lo: number, hi: number, out: Uint8Array): void {
    const data = this.src.data;
    const stride = this.src.width * 3;
    const m = this.maps;
    const o = 6 * k;
    const ma = m[o]!;
    const md = m[o + 3]!;
    let sx = ma * lo + m[o + 1]! * y + m[o + 2]!;
    let sy = md * lo + m[o + 4]! * y + m[o + 5]!;
    let p = (y * this.src.width + lo) * 3;
    for (let x = lo; x <= hi; x++, sx += ma, sy += md, p += 3) {
      // Truncation is floor here: the slack keeps coordinates above -0.01, and |0 of a value in
      // (-1, 0) is 0, the right tap.
      const ix = sx | 0;
      const iy = sy | 0;
      const fx = sx - ix;
      const fy = sy - iy;
      const i00 = iy * stride + ix * 3;
      const i01 = i00 + stride;
      const w00 = (1 - fx) * (1 - fy);
      const w10 = fx * (1 - fy);
      const w01 = (1 - fx) * fy;
      const w11 = fx * fy;
      // Uint8Array stores truncate: +0.5 rounds (the weights sum to one, so 0..255 holds).
      out[p] = data[i00]! * w00 + data[i00 + 3]! * w10 + data[i01]! * w01 + data[i01 + 3]! * w11 + 0.5;
      out[p + 1] =
        data[i00 + 1]! * w00 + data[i00 + 4]! * w10 + data[i01 + 1]! * w01 + data[i01 + 4]! * w11 + 0.5;
      out[p + 2] =
        data[i00 + 2]! * w00 + data[i00 + 5]! * w10 + data[i01 + 2]! * w01 + data[i01 + 5]! * w11 + 0.5;
    }
  }

  /** One row of a triangle that touches the image's edge: coordinates clamped, taps repeated. */
  private spanClamped(k: number, y: number, lo: number, hi: number, out: Uint8Array): void {
    const { data, width: w, height: h } = this.src;
    const stride = w * 3;
    const wMax = w - 1;
    const hMax = h - 1;
    const m = this.maps;
    const o = 6 * k;
    const ma = m[o]!;
    const md = m[o + 3]!;
    let sx = ma * lo + m[o + 1]! * y + m[o + 2]!;
    let sy = md * lo + m[o + 4]! * y + m[o + 5]!;
    let p = (y * w + lo) * 3;
    for (let x = lo; x <= hi; x++, sx += ma, sy += md, p += 3) {
      const cx = sx < 0 ? 0 : Math.min(sx, wMax);
      const cy = sy < 0 ? 0 : Math.min(sy, hMax);
      const ix = cx | 0;
      const iy = cy | 0;
      const fx = cx - ix;
      const fy = cy - iy;
      const i00 = iy * stride + ix * 3;
      const dx = ix < wMax ? 3 : 0;
      const dy = iy < hMax ? stride : 0;
      const i10 = i00 + dx;
      const i01 = i00 + dy;
      const i11 = i01 + dx;
      const w00 = (1 - fx) * (1 - fy);
      const w10 = fx * (1 - fy);
      const w01 = (1 - fx) * fy;
      const w11 = fx * fy;
      out[p] = data[i00]! * w00 + data[i10]! * w10 + data[i01]! * w01 + data[i11]! * w11 + 0.5;
      out[p + 1] =
        data[i00 + 1]! * w00 + data[i10 + 1]! * w10 + data[i01 + 1]! * w01 + data[i11 + 1]! * w11 + 0.5;
      out[p + 2] =
        data[i00 + 2]! * w00 + data[i10 + 2]! * w10 + data[i01 + 2]! * w01 + data[i11 + 2]! * w11 + 0.5;
    }
  }
}
