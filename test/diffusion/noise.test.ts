import { describe, expect, it } from 'vitest';
import { gaussian, log, SeededNoise } from '../../core/diffusion/noise.ts';

describe('seeded Gaussian noise', () => {
  it('own log agrees with Math.log to 1e-13 over the whole double range', () => {
    for (const x of [1e-310, 1e-300, 1e-10, 0.001, 0.1, 0.5, 0.7, 1, 1.5, 2, 3, 10, 12345.678, 1e300]) {
      expect(Math.abs(log(x) - Math.log(x))).toBeLessThanOrEqual(Math.abs(Math.log(x)) * 1e-13 + 1e-16);
    }
  });

  it('xoshiro128** matches the reference implementation from state {1, 2, 3, 4}', () => {
    // Worked by hand from Vigna's xoshiro128starstar.c: rotl(s1 * 5, 7) * 9, then the state update.
    const g = SeededNoise.fromState([1, 2, 3, 4]);
    expect([g.nextU32(), g.nextU32(), g.nextU32()]).toEqual([11520, 0, 5927040]);
  });

  it('xoshiro128** with splitmix32 seeding: fixed known outputs (regression pin for reproducibility)', () => {
    // These numbers are what seed 42 must give on every machine, forever: changing them breaks
    // every stored seed's "reroll". They were produced by this generator once and pinned.
    const g = new SeededNoise(42);
    const first = [g.nextU32(), g.nextU32(), g.nextU32()];
    const again = new SeededNoise(42);
    expect([again.nextU32(), again.nextU32(), again.nextU32()]).toEqual(first);
    expect(Array.from(gaussian(42, 4))).toMatchInlineSnapshot(`
      [
        0.36039894819259644,
        -0.8372282385826111,
        -0.013506115414202213,
        0.010954493656754494,
      ]
    `);
    expect(first).toMatchInlineSnapshot(`
      [
        2837322924,
        544945897,
        479756282,
      ]
    `);
  });

  it('same seed → identical bytes; different seeds differ', () => {
    const a = gaussian(1234, 4 * 64 * 64);
    const b = gaussian(1234, 4 * 64 * 64);
    const c = gaussian(1235, 4 * 64 * 64);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
  });

  it('is standard normal: mean ~0, variance ~1, tails as expected', () => {
    const n = 200_000;
    const x = gaussian(7, n);
    let sum = 0;
    let sq = 0;
    let beyond2 = 0;
    for (const v of x) {
      sum += v;
      sq += v * v;
      if (Math.abs(v) > 2) beyond2++;
    }
    const mean = sum / n;
    const variance = sq / n - mean * mean;
    expect(Math.abs(mean)).toBeLessThan(0.01); // 4.5 standard errors
    expect(Math.abs(variance - 1)).toBeLessThan(0.015);
    expect(beyond2 / n).toBeGreaterThan(0.0435); // P(|z| > 2) = 0.0455
    expect(beyond2 / n).toBeLessThan(0.0475);
  });

  it('refuses seeds outside 0 .. 2^32-1', () => {
    expect(() => new SeededNoise(-1)).toThrow(/seed/);
    expect(() => new SeededNoise(2 ** 32)).toThrow(/seed/);
    expect(() => new SeededNoise(1.5)).toThrow(/seed/);
  });
});

describe('fill() and normal() agree', () => {
  it('gives the same values in the same order, across calls of any length', () => {
    const a = new SeededNoise(99);
    const b = new SeededNoise(99);
    const one = Array.from({ length: 101 }, () => Math.fround(a.normal()));
    const parts = [new Float32Array(3), new Float32Array(50), new Float32Array(48)];
    for (const p of parts) b.fill(p);
    expect(parts.flatMap((p) => Array.from(p))).toEqual(one);
  });
});

describe('the inlined log in fill() is log()', () => {
  it('matches for values across (0, 1)', () => {
    // fill() is checked against normal() above, and normal() uses log(); this pins log() itself
    // on the values polar sampling produces.
    for (const q of [2 ** -60, 1e-9, 0.001, 0.25, 0.5, Math.SQRT1_2, Math.SQRT1_2 - 1e-9, 0.9999999]) {
      expect(Math.abs(log(q) - Math.log(q))).toBeLessThan(Math.abs(Math.log(q)) * 1e-13);
    }
  });
});

describe('goodness of fit', () => {
  /** Standard normal CDF via erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7): test-side only. */
  function phi(z: number): number {
    const x = Math.abs(z) / Math.SQRT2;
    const t = 1 / (1 + 0.3275911 * x);
    const y =
      1 -
      ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
        t *
        Math.exp(-x * x);
    return z >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
  }

  it('passes a chi-square test against the standard normal (42 bins, 400 000 samples)', () => {
    const n = 400_000;
    const x = gaussian(2024, n);
    const edges = [Number.NEGATIVE_INFINITY];
    for (let k = -20; k <= 20; k++) edges.push(k * 0.2);
    edges.push(Number.POSITIVE_INFINITY);
    const counts = new Array(edges.length - 1).fill(0);
    for (const v of x) {
      let b = Math.floor(v / 0.2) + 21;
      if (v < -4) b = 0;
      else if (v >= 4) b = edges.length - 2;
      counts[b]++;
    }
    let chi2 = 0;
    for (let b = 0; b < counts.length; b++) {
      const p = phi(edges[b + 1]) - phi(edges[b]);
      const e = p * n;
      chi2 += (counts[b] - e) ** 2 / e;
    }
    // 41 degrees of freedom: the 0.1 % critical value is 74.7.
    expect(chi2).toBeLessThan(74.7);
  });
});
