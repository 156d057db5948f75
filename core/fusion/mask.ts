/**
 * Masks for blending: the convex hull of landmarks, polygon fill, erosion by an exact Euclidean
 * distance transform (so the eroded edge follows the shape instead of turning boxy) and a
 * separable Gaussian feather.
 */
import type { Mask, Point } from './raster.ts';
import { mask as newMask } from './raster.ts';

/** Convex hull (Andrew's monotone chain), counter-clockwise in y-up axes, no repeated end point. */
export function convexHull(points: readonly Point[]): Point[] {
  const pts = [...points].sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  if (pts.length < 3) return pts;
  const cross = (o: Point, a: Point, b: Point) =>
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: Point[] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  lower.pop();
  upper.pop();
  return lower.concat(upper);
}

/**
 * Fill a polygon (any simple polygon, even-odd rule) into a new mask: 1 for pixels whose centre
 * (integer coordinates) lies inside. `offset` shifts the polygon into the mask's frame.
 */
export function fillPolygon(
  poly: readonly Point[],
  width: number,
  height: number,
  offset: Point = [0, 0],
): Mask {
  const m = newMask(width, height);
  const n = poly.length;
  if (n < 3) return m;
  const xs: number[] = [];
  for (let y = 0; y < height; y++) {
    const py = y + offset[1];
    xs.length = 0;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const [xi, yi] = poly[i];
      const [xj, yj] = poly[j];
      // Half-open rule so a vertex on the scanline is counted once.
      if (yi > py !== yj > py) xs.push(xi + ((py - yi) * (xj - xi)) / (yj - yi));
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const from = Math.max(0, Math.ceil(xs[k] - offset[0]));
      const to = Math.min(width - 1, Math.floor(xs[k + 1] - offset[0]));
      const row = y * width;
      for (let x = from; x <= to; x++) m.data[row + x] = 1;
    }
  }
  return m;
}

/** 1-D squared Euclidean distance transform of a sampled function (Felzenszwalb & Huttenlocher). */
function edt1d(f: Float64Array, n: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = Number.NEGATIVE_INFINITY;
  z[1] = Number.POSITIVE_INFINITY;
  for (let q = 1; q < n; q++) {
    let s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    while (s <= z[k]) {
      k--;
      s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Number.POSITIVE_INFINITY;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    d[q] = (q - v[k]) ** 2 + f[v[k]];
  }
}

/**
 * Euclidean distance from each pixel to the nearest pixel where the mask is < 0.5, in pixels.
 * Pixels outside the image count as outside the mask, so a full mask still has an edge.
 */
export function distanceInside(m: Mask): Float32Array {
  const { width: w, height: h } = m;
  const INF = 1e20;
  // Padding of one pixel on every side stands for the outside of the image.
  const pw = w + 2;
  const ph = h + 2;
  const grid = new Float64Array(pw * ph);
  for (let y = 0; y < ph; y++) {
    for (let x = 0; x < pw; x++) {
      const inside = x > 0 && y > 0 && x <= w && y <= h && m.data[(y - 1) * w + (x - 1)] >= 0.5;
      grid[y * pw + x] = inside ? INF : 0;
    }
  }
  const n = Math.max(pw, ph);
  const f = new Float64Array(n);
  const d = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  for (let x = 0; x < pw; x++) {
    for (let y = 0; y < ph; y++) f[y] = grid[y * pw + x];
    edt1d(f, ph, d, v, z);
    for (let y = 0; y < ph; y++) grid[y * pw + x] = d[y];
  }
  const out = new Float32Array(w * h);
  for (let y = 0; y < ph; y++) {
    const row = y * pw;
    for (let x = 0; x < pw; x++) f[x] = grid[row + x];
    edt1d(f, pw, d, v, z);
    if (y === 0 || y === ph - 1) continue;
    for (let x = 1; x <= w; x++) out[(y - 1) * w + (x - 1)] = Math.sqrt(d[x]);
  }
  return out;
}

/** Binary erosion by a disc of the given radius: keeps pixels farther than `radius` from the outside. */
export function erode(m: Mask, radius: number): Mask {
  const dist = distanceInside(m);
  const out = newMask(m.width, m.height);
  for (let i = 0; i < dist.length; i++) out.data[i] = dist[i] > radius ? 1 : 0;
  return out;
}

function gaussianKernel(sigma: number): Float32Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    k[i + r] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/** Separable Gaussian blur of a mask; edges are extended (clamped). sigma <= 0 returns a copy. */
export function gaussianBlur(m: Mask, sigma: number): Mask {
  const { width: w, height: h } = m;
  const out = newMask(w, h);
  if (sigma <= 0) {
    out.data.set(m.data);
    return out;
  }
  const k = gaussianKernel(sigma);
  const r = (k.length - 1) >> 1;
  const tmp = new Float32Array(w * h);
  const src = m.data;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let i = -r; i <= r; i++) {
        let xx = x + i;
        if (xx < 0) xx = 0;
        else if (xx >= w) xx = w - 1;
        acc += src[row + xx] * k[i + r];
      }
      tmp[row + x] = acc;
    }
  }
  const dst = out.data;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let i = -r; i <= r; i++) {
        let yy = y + i;
        if (yy < 0) yy = 0;
        else if (yy >= h) yy = h - 1;
        acc += tmp[yy * w + x] * k[i + r];
      }
      dst[y * w + x] = acc;
    }
  }
  return out;
}

/** Pixel-wise product of two masks of the same size, in place into `a`. */
export function multiplyInto(a: Mask, b: Mask): Mask {
  for (let i = 0; i < a.data.length; i++) a.data[i] *= b.data[i];
  return a;
}
