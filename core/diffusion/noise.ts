/**
 * Seeded Gaussian noise that is bit-identical on every machine: reroll and "more like this" need
 * the same seed to give the same starting latents everywhere.
 *
 * - Uniforms: xoshiro128** (Blackman & Vigna), 32-bit integer operations only (Math.imul, shifts),
 *   seeded by splitmix32 from the 32-bit seed; each output gives a uniform in (-1, 1).
 * - Normals: Marsaglia's polar form of Box-Muller. It needs only +, -, *, /, sqrt (correctly
 *   rounded in IEEE 754, hence identical everywhere) and a logarithm; Math.log is not required to
 *   be correctly rounded, so `log` below is our own from exact operations.
 * Values are rounded to float32 once, at the end.
 */

function splitmix32(a: number): () => number {
  let s = a >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

const C3 = 1 / 3;
const C5 = 1 / 5;
const C7 = 1 / 7;
const C9 = 1 / 9;
const C11 = 1 / 11;
const C13 = 1 / 13;
const C15 = 1 / 15;
const POW = [512, 256, 128, 64, 32, 16, 8, 4, 2, 1].map((k) => [k, 2 ** k, 2 ** -k] as const);

/**
 * Natural log of a positive double from exact IEEE operations: x = m * 2^e by multiplying with
 * powers of two (exact), m in [sqrt(2)/2, sqrt(2)), then log(m) = 2 atanh(s), s = (m - 1) / (m + 1),
 * |s| <= 0.1716, by its series to s^15 (relative error < 1e-13, far below the float32 the noise
 * is stored in). Same bits on every platform.
 */
export function log(x: number): number {
  if (!(x > 0)) return x === 0 ? Number.NEGATIVE_INFINITY : Number.NaN;
  if (x === Number.POSITIVE_INFINITY) return x;
  let m = x;
  let e = 0;
  if (m >= 2) {
    for (const [k, up, down] of POW)
      if (m >= up) {
        m *= down;
        e += k;
      }
  } else if (m < 0.5) {
    if (m < 2 ** -1022) {
      m *= 2 ** 54; // subnormal: make it normal first
      e -= 54;
    }
    for (const [k, up, down] of POW)
      if (m < down) {
        m *= up;
        e -= k;
      }
  }
  if (m >= Math.SQRT2) {
    m *= 0.5;
    e++;
  } else if (m < Math.SQRT1_2) {
    m *= 2;
    e--;
  }
  return logCore(m, e);
}

/** log of m * 2^e for m in [sqrt(2)/2, sqrt(2)). */
function logCore(m: number, e: number): number {
  const s = (m - 1) / (m + 1);
  const z = s * s;
  const series = 1 + z * (C3 + z * (C5 + z * (C7 + z * (C9 + z * (C11 + z * (C13 + z * C15))))));
  return 2 * s * series + e * Math.LN2; // Math.LN2 is specified as the double nearest ln 2
}

export class SeededNoise {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | undefined;

  constructor(readonly seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
      throw new RangeError(`seed must be an integer from 0 to ${0xffffffff}`);
    const sm = splitmix32(seed);
    this.s0 = sm();
    this.s1 = sm();
    this.s2 = sm();
    this.s3 = sm();
  }

  /** A generator with a given xoshiro128** state (for checking against the reference outputs). */
  static fromState(state: [number, number, number, number]): SeededNoise {
    const g = new SeededNoise(0);
    [g.s0, g.s1, g.s2, g.s3] = state.map((v) => v >>> 0);
    return g;
  }

  /** Next 32-bit unsigned integer (xoshiro128**). */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** One standard normal sample. */
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    for (;;) {
      // 32-bit uniforms in (-1, 1), symmetric: plenty for float32 output, half the generator calls.
      const u = (this.nextU32() + 0.5) * 2 ** -31 - 1;
      const v = (this.nextU32() + 0.5) * 2 ** -31 - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const f = Math.sqrt((-2 * log(s)) / s);
        this.spare = v * f;
        return u * f;
      }
    }
  }

  /** Fill with standard normals: the same values, in the same order, as calling normal(). */
  fill(out: Float32Array): void {
    let i = 0;
    if (this.spare !== undefined && out.length) {
      out[i++] = this.spare;
      this.spare = undefined;
    }
    // The generator and the polar method inlined on local int32 state: this runs for every latent
    // and, with ancestral samplers, at every step.
    let s0 = this.s0 | 0;
    let s1 = this.s1 | 0;
    let s2 = this.s2 | 0;
    let s3 = this.s3 | 0;
    const n = out.length;
    while (i < n) {
      let r = Math.imul(s1, 5);
      r = Math.imul((r << 7) | (r >>> 25), 9) >>> 0;
      let t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      const u = (r + 0.5) * 2 ** -31 - 1;
      r = Math.imul(s1, 5);
      r = Math.imul((r << 7) | (r >>> 25), 9) >>> 0;
      t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      const v = (r + 0.5) * 2 ** -31 - 1;
      const q = u * u + v * v;
      if (!(q > 0 && q < 1)) continue;
      // log(q) as log() computes it, with the exponent found by halving steps (q is uniform on
      // (0, 1), so about one step on average; q >= 2^-64 so m never becomes subnormal).
      let m = q;
      let e = 0;
      while (m < 0.5) {
        m *= 2;
        e--;
      }
      if (m < Math.SQRT1_2) {
        m *= 2;
        e--;
      }
      const f = Math.sqrt((-2 * logCore(m, e)) / q);
      out[i++] = u * f;
      if (i < n) out[i++] = v * f;
      else this.spare = v * f;
    }
    this.s0 = s0 >>> 0;
    this.s1 = s1 >>> 0;
    this.s2 = s2 >>> 0;
    this.s3 = s3 >>> 0;
  }
}

/** Gaussian latents for one image: the generator for `seed`, drawn from the start. */
export function gaussian(seed: number, length: number): Float32Array {
  const out = new Float32Array(length);
  new SeededNoise(seed).fill(out);
  return out;
}
