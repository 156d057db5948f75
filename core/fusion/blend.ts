/**
 * Blending the warped face into the target: feathered alpha blending, and seamless (Poisson)
 * cloning, which keeps the face's gradients and takes its low frequencies from the target along
 * the mask's edge so no seam of colour or brightness remains.
 */
import type { FloatRgb, Mask } from './raster.ts';
import { floatRgb } from './raster.ts';

/** out = base + alpha · (overlay − base), per pixel; all three share one frame. */
export function featherBlend(base: FloatRgb, overlay: FloatRgb, alpha: Mask): FloatRgb {
  const out = floatRgb(base.width, base.height);
  const a = alpha.data;
  const b = base.data;
  const o = overlay.data;
  const d = out.data;
  for (let p = 0, i = 0; p < a.length; p++, i += 3) {
    const w = a[p];
    d[i] = b[i] + w * (o[i] - b[i]);
    d[i + 1] = b[i + 1] + w * (o[i + 1] - b[i + 1]);
    d[i + 2] = b[i + 2] + w * (o[i + 2] - b[i + 2]);
  }
  return out;
}

export interface PoissonOptions {
  /** Stop when no value changes by more than this (0..255 scale) in one sweep. */
  tolerance?: number;
  maxIterations?: number;
  /** Solve a half-size problem first for the starting guess when the region is larger than this. */
  coarseAbove?: number;
}

/** 2×2 box average (odd last row/column dropped). */
function halveRgb(img: FloatRgb): FloatRgb {
  const w = img.width >> 1;
  const h = img.height >> 1;
  const out = floatRgb(w, h);
  const s = img.data;
  const W = img.width;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const a = (2 * y * W + 2 * x) * 3;
      const b = a + W * 3;
      const o = (y * w + x) * 3;
      for (let c = 0; c < 3; c++)
        out.data[o + c] = 0.25 * (s[a + c] + s[a + 3 + c] + s[b + c] + s[b + 3 + c]);
    }
  }
  return out;
}

/** A coarse pixel is in the region when all four of its fine pixels are. */
function halveRegion(m: Mask): Mask {
  const w = m.width >> 1;
  const h = m.height >> 1;
  const out = { width: w, height: h, data: new Float32Array(w * h) };
  const W = m.width;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const a = 2 * y * W + 2 * x;
      const all =
        m.data[a] >= 0.5 && m.data[a + 1] >= 0.5 && m.data[a + W] >= 0.5 && m.data[a + W + 1] >= 0.5;
      out.data[y * w + x] = all ? 1 : 0;
    }
  }
  return out;
}

export interface PoissonResult {
  image: FloatRgb;
  iterations: number;
  /** Largest change in the last sweep. */
  residual: number;
}

/**
 * Seamless cloning: inside `region` (mask ≥ 0.5, away from the frame's border) find f with the
 * Laplacian of `src` and f = base on the region's boundary; outside the region f = base.
 * Solved for the correction c = f − src, which is harmonic (Δc = 0) with c = base − src on the
 * boundary, by red–black successive over-relaxation starting from the mean boundary correction.
 */
export function poissonBlend(
  base: FloatRgb,
  src: FloatRgb,
  region: Mask,
  opts: PoissonOptions = {},
): PoissonResult {
  const { width: w, height: h } = base;
  const tolerance = opts.tolerance ?? 0.05;
  const maxIterations = opts.maxIterations ?? 2000;
  const coarseAbove = opts.coarseAbove ?? 2500;
  const inside = new Int32Array(w * h).fill(-1);
  const px: number[] = [];
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const p = y * w + x;
      if (region.data[p] >= 0.5) {
        inside[p] = px.length;
        px.push(p);
      }
    }
  }
  const n = px.length;
  const out = floatRgb(w, h);
  out.data.set(base.data);
  if (n === 0) return { image: out, iterations: 0, residual: 0 };
  const bd = base.data;
  const sd = src.data;
  // Per unknown: its 4 neighbours (index of unknown, or -1) and the fixed boundary sum per channel.
  const nb = new Int32Array(n * 4);
  const fixed = new Float32Array(n * 3);
  const colour = new Uint8Array(n);
  let bsum0 = 0;
  let bsum1 = 0;
  let bsum2 = 0;
  let bcount = 0;
  for (let k = 0; k < n; k++) {
    const p = px[k];
    const x = p % w;
    const y = (p - x) / w;
    colour[k] = (x + y) & 1;
    const ns = [p - 1, p + 1, p - w, p + w];
    for (let j = 0; j < 4; j++) {
      const q = ns[j];
      const iq = inside[q];
      nb[k * 4 + j] = iq;
      if (iq < 0) {
        const d0 = bd[q * 3] - sd[q * 3];
        const d1 = bd[q * 3 + 1] - sd[q * 3 + 1];
        const d2 = bd[q * 3 + 2] - sd[q * 3 + 2];
        fixed[k * 3] += d0;
        fixed[k * 3 + 1] += d1;
        fixed[k * 3 + 2] += d2;
        bsum0 += d0;
        bsum1 += d1;
        bsum2 += d2;
        bcount++;
      }
    }
  }
  const c = new Float32Array(n * 3);
  for (let k = 0; k < n; k++) {
    c[k * 3] = bsum0 / bcount;
    c[k * 3 + 1] = bsum1 / bcount;
    c[k * 3 + 2] = bsum2 / bcount;
  }
  // The correction is smooth (harmonic), so a half-size solve gives a starting guess that is
  // already right at low frequencies, which SOR is slowest to fix. Applied recursively.
  if (n > coarseAbove && w >= 8 && h >= 8) {
    const cb = halveRgb(base);
    const cs = halveRgb(src);
    const coarse = poissonBlend(cb, cs, halveRegion(region), opts).image;
    const cw = cb.width;
    const ch = cb.height;
    for (let k = 0; k < n; k++) {
      const p = px[k];
      const x = Math.min(cw - 1, (p % w) >> 1);
      const y = Math.min(ch - 1, ((p - (p % w)) / w) >> 1);
      const q = (y * cw + x) * 3;
      // Outside the coarse region the coarse "solution" is the base: its correction still holds.
      c[k * 3] = coarse.data[q] - cs.data[q];
      c[k * 3 + 1] = coarse.data[q + 1] - cs.data[q + 1];
      c[k * 3 + 2] = coarse.data[q + 2] - cs.data[q + 2];
    }
  }
  // Over-relaxation factor for a region about sqrt(n) pixels across.
  const side = Math.max(2, Math.sqrt(n));
  const omega = 2 / (1 + Math.sin(Math.PI / side));
  let iterations = 0;
  let residual = Number.POSITIVE_INFINITY;
  while (iterations < maxIterations && residual > tolerance) {
    residual = 0;
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < n; k++) {
        if (colour[k] !== pass) continue;
        let s0 = fixed[k * 3];
        let s1 = fixed[k * 3 + 1];
        let s2 = fixed[k * 3 + 2];
        for (let j = 0; j < 4; j++) {
          const q = nb[k * 4 + j];
          if (q >= 0) {
            s0 += c[q * 3];
            s1 += c[q * 3 + 1];
            s2 += c[q * 3 + 2];
          }
        }
        const i = k * 3;
        const d0 = omega * (s0 / 4 - c[i]);
        const d1 = omega * (s1 / 4 - c[i + 1]);
        const d2 = omega * (s2 / 4 - c[i + 2]);
        c[i] += d0;
        c[i + 1] += d1;
        c[i + 2] += d2;
        const m = Math.max(Math.abs(d0), Math.abs(d1), Math.abs(d2));
        if (m > residual) residual = m;
      }
    }
    iterations++;
  }
  const od = out.data;
  for (let k = 0; k < n; k++) {
    const i = px[k] * 3;
    od[i] = sd[i] + c[k * 3];
    od[i + 1] = sd[i + 1] + c[k * 3 + 1];
    od[i + 2] = sd[i + 2] + c[k * 3 + 2];
  }
  return { image: out, iterations, residual };
}
