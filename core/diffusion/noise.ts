/**
 * Seeded Gaussian noise that is bit-identical on every machine: reroll and "more like this" need
 * the same seed to give the same starting latents everywhere.
 *
 * - Uniforms: xoshiro128** (Blackman & Vigna), 32-bit integer operations only (Math.imul, shifts),
 *   seeded by splitmix32 from the 32-bit seed; 53-bit uniforms from two outputs.
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

/** Natural log from exact IEEE operations: x = m * 2^e, m in [1, 2), atanh series for log(m). */
export function log(x: number): number {
  if (!(x > 0)) return x === 0 ? Number.NEGATIVE_INFINITY : Number.NaN;
  let e = 0;
  let m = x;
  while (m >= 2) {
    m /= 2;
    e++;
  }
  while (m < 1) {
    m *= 2;
    e--;
  }
  // Centre on sqrt(2) so |s| <= 0.1716 and the series converges fast.
  if (m > Math.SQRT2) {
    m /= 2;
    e++;
  }
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  let term = s;
  let sum = 0;
  for (let k = 1; k < 40; k += 2) {
    sum += term / k;
    term *= s2;
    if (Math.abs(term) < 1e-18) break;
  }
  return 2 * sum + e * Math.LN2; // Math.LN2 is specified as the double nearest ln 2
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
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const f = Math.sqrt((-2 * log(s)) / s);
        this.spare = v * f;
        return u * f;
      }
    }
  }

  fill(out: Float32Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
  }
}

/** Gaussian latents for one image: the generator for `seed`, drawn from the start. */
export function gaussian(seed: number, length: number): Float32Array {
  const out = new Float32Array(length);
  new SeededNoise(seed).fill(out);
  return out;
}
