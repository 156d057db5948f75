/**
 * Geometry on plain RGB buffers: 2x3 affine matrices, a least-squares similarity fit (Umeyama)
 * for landmark alignment, and warps with bilinear sampling. Large reductions read from a 2x
 * box-filtered pyramid so a 4000 px photo warped to 112 px does not alias.
 * No native image library, so it runs the same in worker threads; the pyramid's halving and the
 * detector inputs' sampling run in WebAssembly where available (kernels.ts).
 */
import type { RgbImage } from './codec.ts';
import { KernelArena } from './kernels.ts';

export type Point = readonly [number, number];
/** (x, y) -> (a*x + b*y + c, d*x + e*y + f) */
export type Affine = readonly [number, number, number, number, number, number];

export const IDENTITY: Affine = [1, 0, 0, 0, 1, 0];

export function applyAffine(m: Affine, p: Point): [number, number] {
  return [m[0] * p[0] + m[1] * p[1] + m[2], m[3] * p[0] + m[4] * p[1] + m[5]];
}

export function invertAffine(m: Affine): Affine {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (Math.abs(det) < 1e-12) throw new Error('affine matrix is singular');
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

/** m2 after m1. */
export function composeAffine(m2: Affine, m1: Affine): Affine {
  return [
    m2[0] * m1[0] + m2[1] * m1[3],
    m2[0] * m1[1] + m2[1] * m1[4],
    m2[0] * m1[2] + m2[1] * m1[5] + m2[2],
    m2[3] * m1[0] + m2[4] * m1[3],
    m2[3] * m1[1] + m2[4] * m1[4],
    m2[3] * m1[2] + m2[4] * m1[5] + m2[5],
  ];
}

/** Scale factor of an affine map (geometric mean of its axes). */
export function affineScale(m: Affine): number {
  return Math.sqrt(Math.abs(m[0] * m[4] - m[1] * m[3]));
}

/**
 * Least-squares similarity transform (rotation, uniform scale, translation; no reflection)
 * mapping src points onto dst points (Umeyama 1991).
 */
export function fitSimilarity(src: readonly Point[], dst: readonly Point[]): Affine {
  const n = src.length;
  if (n < 2 || dst.length !== n) throw new Error('fitSimilarity needs two or more point pairs');
  let sx = 0;
  let sy = 0;
  let dx = 0;
  let dy = 0;
  for (let i = 0; i < n; i++) {
    sx += src[i]![0];
    sy += src[i]![1];
    dx += dst[i]![0];
    dy += dst[i]![1];
  }
  sx /= n;
  sy /= n;
  dx /= n;
  dy /= n;
  // For a 2-D similarity the optimal [a -b; b a] has closed form from these sums.
  let sxx = 0;
  let num1 = 0;
  let num2 = 0;
  for (let i = 0; i < n; i++) {
    const px = src[i]![0] - sx;
    const py = src[i]![1] - sy;
    const qx = dst[i]![0] - dx;
    const qy = dst[i]![1] - dy;
    sxx += px * px + py * py;
    num1 += px * qx + py * qy;
    num2 += px * qy - py * qx;
  }
  if (sxx < 1e-12) throw new Error('fitSimilarity: source points coincide');
  const a = num1 / sxx;
  const b = num2 / sxx;
  return [a, -b, dx - (a * sx - b * sy), b, a, dy - (b * sx + a * sy)];
}

/**
 * Halve an image with a 2x2 box filter (an odd last row or column is dropped). `into`, when at
 * least large enough, holds the result (its start is used), so repeated analyses allocate nothing.
 */
export function halve(img: RgbImage, into?: Uint8Array): RgbImage {
  const w = Math.max(1, img.width >> 1);
  const h = Math.max(1, img.height >> 1);
  const src = img.data;
  const stride = img.width * 3;
  const n = w * h * 3;
  const out = into && into.length >= n ? into.subarray(0, n) : new Uint8Array(n);
  if (img.width < 2 || img.height < 2) {
    out.set(src.subarray(0, out.length));
    return { data: out, width: w, height: h };
  }
  if (img.width % 4 === 0 && src.byteOffset % 4 === 0) {
    halveWords(src, stride, w, h, out);
    return { data: out, width: w, height: h };
  }
  let o = 0;
  for (let y = 0; y < h; y++) {
    let p = 2 * y * stride;
    let q = p + stride;
    for (let x = 0; x < w; x++, p += 6, q += 6) {
      out[o++] = (src[p]! + src[p + 3]! + src[q]! + src[q + 3]! + 2) >> 2;
      out[o++] = (src[p + 1]! + src[p + 4]! + src[q + 1]! + src[q + 4]! + 2) >> 2;
      out[o++] = (src[p + 2]! + src[p + 5]! + src[q + 2]! + src[q + 5]! + 2) >> 2;
    }
  }
  return { data: out, width: w, height: h };
}

/**
 * The same 2x2 box filter reading 32-bit words: four source pixels (12 bytes, three words) per
 * row give two output pixels, a quarter of the loads of the byte loop (about 25 % faster on a
 * 1920x1280 photo). Needs a width divisible by 4 and a 4-byte-aligned buffer.
 */
function halveWords(src: Uint8Array, stride: number, w: number, h: number, out: Uint8Array): void {
  const words = new Uint32Array(src.buffer, src.byteOffset, src.byteLength >> 2);
  const strideW = stride >> 2;
  const groups = w >> 1;
  let o = 0;
  for (let y = 0; y < h; y++) {
    let p = 2 * y * strideW;
    let q = p + strideW;
    for (let k = 0; k < groups; k++, p += 3, q += 3) {
      // Little-endian bytes: a0 = R0 G0 B0 R1, a1 = G1 B1 R2 G2, a2 = B2 R3 G3 B3.
      const a0 = words[p]!;
      const a1 = words[p + 1]!;
      const a2 = words[p + 2]!;
      const b0 = words[q]!;
      const b1 = words[q + 1]!;
      const b2 = words[q + 2]!;
      out[o++] = ((a0 & 255) + (a0 >>> 24) + (b0 & 255) + (b0 >>> 24) + 2) >> 2;
      out[o++] = (((a0 >>> 8) & 255) + (a1 & 255) + ((b0 >>> 8) & 255) + (b1 & 255) + 2) >> 2;
      out[o++] =
        (((a0 >>> 16) & 255) + ((a1 >>> 8) & 255) + ((b0 >>> 16) & 255) + ((b1 >>> 8) & 255) + 2) >> 2;
      out[o++] =
        (((a1 >>> 16) & 255) + ((a2 >>> 8) & 255) + ((b1 >>> 16) & 255) + ((b2 >>> 8) & 255) + 2) >> 2;
      out[o++] = ((a1 >>> 24) + ((a2 >>> 16) & 255) + (b1 >>> 24) + ((b2 >>> 16) & 255) + 2) >> 2;
      out[o++] = ((a2 & 255) + (a2 >>> 24) + (b2 & 255) + (b2 >>> 24) + 2) >> 2;
    }
  }
}

/**
 * Arenas whose levels exceed this are one-off, so an analyzer does not keep their memory (the
 * levels of a 16 MP photo fit).
 */
const KEEP_ARENA_BYTES = 16 * 1024 * 1024;
/**
 * The arena's work region after the levels: rows of the base on their way to the first halving,
 * then sampling tables and one band of output rows.
 */
const WORK_BYTES = 1024 * 1024;

/** An image that lies in a kernel arena: where it starts, and the arena's work region. */
export interface KernelSource {
  arena: KernelArena;
  offset: number;
  work: number;
}

/**
 * Level buffers kept between images by one owner (an analyzer). A pyramid built on a pool
 * overwrites it, so only one such pyramid may be in use at a time. Where WebAssembly is
 * available the levels live in the pool's kernel arena, halved there with SIMD (about 4x faster
 * than the JS loop) and sampled there for the detector inputs; otherwise the pool keeps one JS
 * buffer per level.
 */
export class PyramidPool {
  readonly arena = KernelArena.create();
  /** JS level buffers (no arena): index i - 1 holds level i. */
  readonly buffers: Uint8Array[] = [];
}

/** An image with lazily built half-size levels, for alias-free reductions. */
export class Pyramid {
  private readonly levels: RgbImage[];
  /** With an arena: where level k starts in it (k >= 1; the base stays where it is), then the work region. */
  private readonly offsets: number[] = [];
  private readonly arena: KernelArena | undefined;

  constructor(
    readonly base: RgbImage,
    private readonly pool?: PyramidPool,
  ) {
    this.levels = [base];
    this.arena = pool?.arena ? arenaFor(pool.arena, base, this.offsets) : undefined;
  }

  get width(): number {
    return this.base.width;
  }

  get height(): number {
    return this.base.height;
  }

  /** Where one of this pyramid's levels lies in its kernel arena, if it has one (never the base). */
  kernelSource(img: RgbImage): KernelSource | undefined {
    const k = this.arena ? this.levels.indexOf(img) : -1;
    return k < 1 ? undefined : { arena: this.arena!, offset: this.offsets[k]!, work: this.offsets.at(-1)! };
  }

  level(i: number): RgbImage {
    while (this.levels.length <= i) {
      const last = this.levels[this.levels.length - 1]!;
      if (last.width < 2 || last.height < 2) return last;
      const k = this.levels.length - 1;
      let next: RgbImage;
      if (this.arena) {
        const [w, h] = [last.width >> 1, last.height >> 1];
        const at = this.offsets[k + 1]!;
        if (k > 0) this.arena.halve(this.offsets[k]!, last.width, last.height, at);
        else halveIntoArena(this.arena, last, this.offsets.at(-1)!, at);
        next = { data: this.arena.view(at, w * h * 3), width: w, height: h };
      } else {
        const buffers = this.pool?.buffers;
        next = halve(last, buffers?.[k]);
        // Keep the larger buffer so the pool stops growing once it has seen the largest photo.
        if (buffers && (buffers[k]?.length ?? 0) < next.data.length) buffers[k] = next.data;
      }
      this.levels.push(next);
    }
    return this.levels[i]!;
  }
}

/**
 * Lay out every level below the base and the work region in an arena, reserved up front
 * (growing later would detach the views already handed out): the pool's own, or a one-off one
 * for a very large photo. offsets[k] is level k's start (offsets[0] unused), then the work
 * region's. Undefined (the JS loops) for an image too small to halve, with rows too long for
 * the work region, or when the memory cannot be had.
 */
function arenaFor(kept: KernelArena, base: RgbImage, offsets: number[]): KernelArena | undefined {
  let [w, h] = [base.width, base.height];
  if (w < 2 || h < 2 || base.data.length !== w * h * 3 || 6 * w > WORK_BYTES) return undefined;
  offsets.push(0);
  let end = 0;
  while (w >= 2 && h >= 2) {
    [w, h] = [w >> 1, h >> 1];
    offsets.push(end);
    end += w * h * 3;
  }
  const work = Math.ceil(end / 8) * 8;
  offsets.push(work);
  const arena = end <= KEEP_ARENA_BYTES ? kept : KernelArena.create();
  try {
    arena?.reserve(work + WORK_BYTES);
    return arena;
  } catch {
    return undefined; // memory could not grow: this photo takes the JS loops
  }
}

/**
 * The first halving: the base is not in the arena (copying it whole would keep a photo-sized
 * buffer per analyzer), so its rows go through the work region a band of row pairs at a time.
 */
function halveIntoArena(arena: KernelArena, base: RgbImage, work: number, dst: number): void {
  const stride = base.width * 3;
  const outStride = (base.width >> 1) * 3;
  const pairs = base.height >> 1;
  const perBand = Math.max(1, Math.floor(WORK_BYTES / (2 * stride)));
  for (let y = 0; y < pairs; y += perBand) {
    const n = Math.min(perBand, pairs - y);
    arena.view(work, 2 * n * stride).set(base.data.subarray(2 * y * stride, 2 * (y + n) * stride));
    arena.halve(work, base.width, 2 * n, dst + y * outStride);
  }
}

export type Fill = readonly [number, number, number];

export interface WarpOptions {
  /** Colour outside the source image (default black). */
  fill?: Fill;
  /** Write one grey channel (ITU-R 601 luma) instead of RGB. */
  grey?: boolean;
}

/**
 * Warp into an outW x outH buffer. m maps continuous source coordinates to continuous output
 * coordinates (pixel (i, j) spans [i, i+1) x [j, j+1)); each output pixel centre reads the
 * source at inverse(m) with bilinear interpolation.
 * Returns RGB (3 bytes per pixel) or grey (1 byte per pixel).
 */
export function warpAffine(
  src: RgbImage | Pyramid,
  m: Affine,
  outW: number,
  outH: number,
  opts: WarpOptions = {},
): Uint8Array {
  const { img, inv } = samplingSource(src, m);
  const grey = opts.grey ?? false;
  const out = new Uint8Array(outW * outH * (grey ? 1 : 3));
  sampleBilinear(img, inv, outW, outH, opts.fill ?? [0, 0, 0], grey ? GREY8 : RGB8, out, EMPTY_F32, NO_NORM);
  return out;
}

export interface PlanarOptions {
  fill?: Fill;
  /** Per-channel (value - mean) / std, in 0..255 units, in output channel order (B first if bgr). */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** Write channels as B, G, R instead of R, G, B. */
  bgr?: boolean;
  /** Reuse this buffer (length 3 x outW x outH) instead of allocating one. */
  out?: Float32Array;
}

/**
 * Warp straight into a normalised planar (CHW) float tensor, as the models take it: one pass
 * instead of warp + convert, which matters for the detector's eight 320x240 inputs per photo.
 */
export function warpToPlanar(
  src: RgbImage | Pyramid,
  m: Affine,
  outW: number,
  outH: number,
  opts: PlanarOptions,
): Float32Array {
  const { img, inv, at } = samplingSource(src, m);
  const out = opts.out?.length === outW * outH * 3 ? opts.out : new Float32Array(outW * outH * 3);
  const [m0, m1, m2] = opts.mean;
  const [s0, s1, s2] = opts.std;
  const norm = [m0, 1 / s0, m1, 1 / s1, m2, 1 / s2, opts.bgr ? 1 : 0];
  const fill = opts.fill ?? [0, 0, 0];
  if (at && img.width > 1 && img.height > 1 && separable(inv))
    samplePlanarSeparable(img, inv, outW, outH, fill, out, norm, at);
  else sampleBilinear(img, inv, outW, outH, fill, PLANAR, EMPTY_U8, out, norm);
  return out;
}

const RGB8 = 0;
const GREY8 = 1;
const PLANAR = 2;
/** One pixel, unrounded RGB floats (used by the separable fast path at borders). */
const PLANAR_RAW = 3;
const EMPTY_U8 = new Uint8Array(0);
const EMPTY_F32 = new Float32Array(0);
const NO_NORM: number[] = [0, 1, 0, 1, 0, 1, 0];

/** The pyramid level to read and the output-index -> source-index affine for it. */
function samplingSource(
  src: RgbImage | Pyramid,
  m: Affine,
): { img: RgbImage; inv: Affine; at?: KernelSource } {
  const pyr = src instanceof Pyramid ? src : undefined;
  let img = pyr ? pyr.base : (src as RgbImage);
  // Continuous coordinates: pixel (i, j) covers [i, i+1) x [j, j+1); its centre is (i+0.5, j+0.5).
  let inv = composeAffine(invertAffine(m), [1, 0, 0.5, 0, 1, 0.5]);
  // Source pixels per output pixel; read from the pyramid level that brings it under 2.
  const reduction = affineScale(inv);
  if (pyr && reduction >= 2) {
    const lv = Math.min(Math.floor(Math.log2(reduction)), 10);
    const lvl = pyr.level(lv);
    const k = lvl.width / img.width < 0.75 ? 2 ** -Math.round(Math.log2(img.width / lvl.width)) : 1;
    inv = composeAffine([k, 0, 0, 0, k, 0], inv);
    img = lvl;
  }
  return { img, inv: composeAffine([1, 0, -0.5, 0, 1, -0.5], inv), at: pyr?.kernelSource(img) };
}

/**
 * The inner loop, kept monomorphic and allocation-free: it is the hottest code in face
 * analysis (about a million samples per photo). inv maps output pixel indices to source
 * pixel indices.
 */
function sampleBilinear(
  img: RgbImage,
  inv: Affine,
  outW: number,
  outH: number,
  fill: Fill,
  mode: number,
  out: Uint8Array,
  outF: Float32Array,
  norm: readonly number[],
): void {
  const { data, width: w, height: h } = img;
  const plane = outW * outH;
  const [nm0, nk0, nm1, nk1, nm2, nk2, swap] = norm as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const [a, b, c, d, e, f] = inv;
  if (mode === PLANAR && w > 1 && h > 1 && separable(inv)) {
    samplePlanarSeparable(img, inv, outW, outH, fill, outF, norm);
    return;
  }
  const f0 = fill[0];
  const f1 = fill[1];
  const f2 = fill[2];
  const stride = w * 3;
  let o = 0;
  for (let v = 0; v < outH; v++) {
    let sx = b * v + c;
    let sy = e * v + f;
    for (let u = 0; u < outW; u++, sx += a, sy += d) {
      // Truncation is floor for the non-negative coordinates that dominate; floor otherwise.
      const x0 = sx >= 0 ? sx | 0 : Math.floor(sx);
      const y0 = sy >= 0 ? sy | 0 : Math.floor(sy);
      const tx = sx - x0;
      const ty = sy - y0;
      let r: number;
      let g: number;
      let bl: number;
      if (x0 >= 0 && y0 >= 0 && x0 < w - 1 && y0 < h - 1) {
        const i00 = y0 * stride + x0 * 3;
        const i01 = i00 + stride;
        const w00 = (1 - tx) * (1 - ty);
        const w10 = tx * (1 - ty);
        const w01 = (1 - tx) * ty;
        const w11 = tx * ty;
        r = data[i00]! * w00 + data[i00 + 3]! * w10 + data[i01]! * w01 + data[i01 + 3]! * w11;
        g = data[i00 + 1]! * w00 + data[i00 + 4]! * w10 + data[i01 + 1]! * w01 + data[i01 + 4]! * w11;
        bl = data[i00 + 2]! * w00 + data[i00 + 5]! * w10 + data[i01 + 2]! * w01 + data[i01 + 5]! * w11;
      } else if (x0 >= -1 && y0 >= -1 && x0 < w && y0 < h) {
        // Border: the taps that fall outside read the fill colour.
        r = 0;
        g = 0;
        bl = 0;
        for (let k = 0; k < 4; k++) {
          const xx = x0 + (k & 1);
          const yy = y0 + (k >> 1);
          const wt = (k & 1 ? tx : 1 - tx) * (k >> 1 ? ty : 1 - ty);
          if (xx >= 0 && yy >= 0 && xx < w && yy < h) {
            const i = yy * stride + xx * 3;
            r += wt * data[i]!;
            g += wt * data[i + 1]!;
            bl += wt * data[i + 2]!;
          } else {
            r += wt * f0;
            g += wt * f1;
            bl += wt * f2;
          }
        }
      } else {
        r = f0;
        g = f1;
        bl = f2;
      }
      if (mode === PLANAR_RAW) {
        outF[0] = r;
        outF[1] = g;
        outF[2] = bl;
      } else if (mode === PLANAR) {
        // norm is already in output channel order; swap picks B,G,R.
        const c0 = swap ? bl : r;
        const c2 = swap ? r : bl;
        outF[o] = (c0 - nm0) * nk0;
        outF[o + plane] = (g - nm1) * nk1;
        outF[o + 2 * plane] = (c2 - nm2) * nk2;
        o++;
      } else if (mode === GREY8) {
        out[o++] = 0.299 * r + 0.587 * g + 0.114 * bl + 0.5;
      } else {
        // Uint8Array stores truncate; +0.5 rounds (values are within 0..255).
        out[o++] = r + 0.5;
        out[o++] = g + 0.5;
        out[o++] = bl + 0.5;
      }
    }
  }
}

/** Scale-and-shift warps and their 90-degree turns: one output axis per source axis. */
function separable(inv: Affine): boolean {
  return (inv[1] === 0 && inv[3] === 0) || (inv[0] === 0 && inv[4] === 0);
}

/**
 * Fast path for scale-and-shift warps and their 90-degree turns (every detector input): the
 * source column depends on one output axis and the source row on the other, so taps and
 * weights are computed once per output column and row instead of once per pixel. Pixels whose
 * taps leave the image fall back to the general loop's border rule via a one-pixel call. With
 * `at` (the source lies in a kernel arena) the pixels are sampled in WebAssembly, band by band
 * through the arena's work region, with the same arithmetic.
 */
function samplePlanarSeparable(
  img: RgbImage,
  inv: Affine,
  outW: number,
  outH: number,
  fill: Fill,
  outF: Float32Array,
  norm: readonly number[],
  at?: KernelSource,
): void {
  const { data, width: w, height: h } = img;
  const [a, b, c, d, e, f] = inv;
  const straight = b === 0 && d === 0;
  const stride = w * 3;
  // Source x as a function of u (straight) or v (turned); source y of the other axis.
  const nx = straight ? outW : outH;
  const ny = straight ? outH : outW;
  // The tables go into the arena's work region when the kernel samples (offsets 8-aligned).
  const tables = at ? kernelTables(at, nx, ny, outW) : undefined;
  const xOff = tables ? at!.arena.i32(tables.xOff, nx) : new Int32Array(nx);
  const xT = tables ? at!.arena.f64(tables.xT, nx) : new Float64Array(nx);
  const yOff = tables ? at!.arena.i32(tables.yOff, ny) : new Int32Array(ny);
  const yT = tables ? at!.arena.f64(tables.yT, ny) : new Float64Array(ny);
  for (let i = 0; i < nx; i++) {
    const sx = (straight ? a : b) * i + c;
    const x0 = Math.floor(sx);
    // -2: both taps outside (fill); -1: one tap outside (blend with fill).
    xOff[i] = x0 >= 0 && x0 < w - 1 ? x0 * 3 : x0 === -1 || x0 === w - 1 ? -1 : -2;
    xT[i] = sx - x0;
  }
  for (let i = 0; i < ny; i++) {
    const sy = (straight ? e : d) * i + f;
    const y0 = Math.floor(sy);
    yOff[i] = y0 >= 0 && y0 < h - 1 ? y0 * stride : y0 === -1 || y0 === h - 1 ? -1 : -2;
    yT[i] = sy - y0;
  }
  const plane = outW * outH;
  const nm0 = norm[0]!;
  const nk0 = norm[1]!;
  const nm1 = norm[2]!;
  const nk1 = norm[3]!;
  const nm2 = norm[4]!;
  const nk2 = norm[5]!;
  const swap = norm[6]!;
  // Normalised fill, written directly where both taps are outside the image.
  const fc0 = ((swap ? fill[2] : fill[0]) - nm0) * nk0;
  const fc1 = (fill[1] - nm1) * nk1;
  const fc2 = ((swap ? fill[0] : fill[2]) - nm2) * nk2;
  const one = new Float32Array(3);
  // Source channel offsets of output channels 0 and 2 (B first when swapped).
  const k0 = swap ? 2 : 0;
  const k2 = swap ? 0 : 2;
  // Per-axis offsets and fractions as seen from the output row (v) and column (u).
  const rowOffs = straight ? yOff : xOff;
  const rowTs = straight ? yT : xT;
  const colOffs = straight ? xOff : yOff;
  const colTs = straight ? xT : yT;
  // The one-pixel border ring: sampled with the general loop (raw RGB, no norm).
  const ring = (u: number, v: number) => {
    const o = v * outW + u;
    const sub: Affine = [a, b, a * u + b * v + c, d, e, d * u + e * v + f];
    sampleBilinear(img, sub, 1, 1, fill, PLANAR_RAW, EMPTY_U8, one, NO_NORM);
    outF[o] = ((swap ? one[2]! : one[0]!) - nm0) * nk0;
    outF[o + plane] = (one[1]! - nm1) * nk1;
    outF[o + 2 * plane] = ((swap ? one[0]! : one[2]!) - nm2) * nk2;
  };
  if (tables) {
    const { arena, offset } = at!;
    const rowsPerBand = tables.bandRows;
    for (let v0 = 0; v0 < outH; v0 += rowsPerBand) {
      const v1 = Math.min(outH, v0 + rowsPerBand);
      arena.planar({
        src: offset,
        stride,
        rowOffs: straight ? tables.yOff : tables.xOff,
        rowTs: straight ? tables.yT : tables.xT,
        colOffs: straight ? tables.xOff : tables.yOff,
        colTs: straight ? tables.xT : tables.yT,
        outW,
        v0,
        v1,
        out: tables.band,
        straight,
        k0,
        k2,
        norm: [nm0, nk0, nm1, nk1, nm2, nk2],
        fill: [fc0, fc1, fc2],
      });
      const n = (v1 - v0) * outW;
      const band = arena.f32(tables.band, 3 * n);
      for (let ch = 0; ch < 3; ch++) outF.set(band.subarray(ch * n, (ch + 1) * n), ch * plane + v0 * outW);
    }
    // The kernel wrote the fill wherever a tap is outside; redo the ring, where one is inside.
    const ringCols: number[] = [];
    for (let u = 0; u < outW; u++) if (colOffs[u] === -1) ringCols.push(u);
    for (let v = 0; v < outH; v++) {
      const rowOff = rowOffs[v]!;
      if (rowOff === -1) {
        for (let u = 0; u < outW; u++) if (colOffs[u] !== -2) ring(u, v);
      } else if (rowOff >= 0) for (const u of ringCols) ring(u, v);
    }
    return;
  }
  let o = 0;
  for (let v = 0; v < outH; v++) {
    // The coordinate that depends on v is fixed for the whole row.
    const rowOff = rowOffs[v]!;
    const rowT = rowTs[v]!;
    for (let u = 0; u < outW; u++, o++) {
      const colOff = colOffs[u]!;
      if (rowOff >= 0 && colOff >= 0) {
        const colT = colTs[u]!;
        const tx = straight ? colT : rowT;
        const ty = straight ? rowT : colT;
        const i00 = rowOff + colOff;
        const i01 = i00 + stride;
        const w00 = (1 - tx) * (1 - ty);
        const w10 = tx * (1 - ty);
        const w01 = (1 - tx) * ty;
        const w11 = tx * ty;
        const p0 = i00 + k0;
        const q0 = i01 + k0;
        const p2 = i00 + k2;
        const q2 = i01 + k2;
        outF[o] = (data[p0]! * w00 + data[p0 + 3]! * w10 + data[q0]! * w01 + data[q0 + 3]! * w11 - nm0) * nk0;
        outF[o + plane] =
          (data[i00 + 1]! * w00 + data[i00 + 4]! * w10 + data[i01 + 1]! * w01 + data[i01 + 4]! * w11 - nm1) *
          nk1;
        outF[o + 2 * plane] =
          (data[p2]! * w00 + data[p2 + 3]! * w10 + data[q2]! * w01 + data[q2 + 3]! * w11 - nm2) * nk2;
      } else if (rowOff === -2 || colOff === -2) {
        outF[o] = fc0;
        outF[o + plane] = fc1;
        outF[o + 2 * plane] = fc2;
      } else ring(u, v);
    }
  }
}

/**
 * Where the kernel's tables and output band go in the arena's work region, or undefined when
 * the output is too wide for it (the JS loop samples then).
 */
function kernelTables(at: KernelSource, nx: number, ny: number, outW: number) {
  const align = (n: number) => Math.ceil(n / 8) * 8;
  const xOff = at.work;
  const yOff = xOff + align(4 * nx);
  const xT = yOff + align(4 * ny);
  const yT = xT + 8 * nx;
  const band = yT + 8 * ny;
  const bandRows = Math.floor((at.work + WORK_BYTES - band) / (12 * outW));
  return bandRows >= 1 ? { xOff, yOff, xT, yT, band, bandRows } : undefined;
}

/** Map an axis-aligned source rectangle onto a w x h output (a crop-and-resize). */
export function rectToAffine(x1: number, y1: number, x2: number, y2: number, w: number, h: number): Affine {
  const sx = w / (x2 - x1);
  const sy = h / (y2 - y1);
  return [sx, 0, -x1 * sx, 0, sy, -y1 * sy];
}

/** Warp to an RgbImage. */
export function warpRgb(
  src: RgbImage | Pyramid,
  m: Affine,
  outW: number,
  outH: number,
  fill: Fill = [0, 0, 0],
): RgbImage {
  return { data: warpAffine(src, m, outW, outH, { fill }), width: outW, height: outH };
}
