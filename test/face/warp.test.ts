/** Geometry: similarity fit, affine algebra, warps (fast path against the general loop). */
import { describe, expect, it } from 'vitest';
import {
  type Affine,
  applyAffine,
  composeAffine,
  fitSimilarity,
  halve,
  invertAffine,
  Pyramid,
  warpAffine,
  warpToPlanar,
} from '../../core/image/warp.ts';

function image(w: number, h: number) {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + (i >> 7) * 11) & 255;
  return { data, width: w, height: h };
}

describe('affine geometry', () => {
  it('fits a known similarity exactly and inverts it', () => {
    const angle = 0.3;
    const k = 1.7;
    const m: Affine = [
      k * Math.cos(angle),
      -k * Math.sin(angle),
      12,
      k * Math.sin(angle),
      k * Math.cos(angle),
      -5,
    ];
    const src: [number, number][] = [
      [10, 20],
      [50, 22],
      [30, 45],
      [15, 70],
      [48, 69],
    ];
    const fit = fitSimilarity(
      src,
      src.map((p) => applyAffine(m, p)),
    );
    for (const [i, v] of fit.entries()) expect(v).toBeCloseTo(m[i]!, 9);
    const round = composeAffine(invertAffine(m), m);
    for (const [i, v] of [1, 0, 0, 0, 1, 0].entries()) expect(round[i]).toBeCloseTo(v, 12);
  });

  it('halves with a 2x2 box filter; the word-reading path matches the byte loop', () => {
    const img = { data: Uint8Array.from([0, 0, 0, 4, 4, 4, 8, 8, 8, 12, 12, 12]), width: 2, height: 2 };
    expect(Array.from(halve(img).data)).toEqual([6, 6, 6]);
    // Width 64 takes the 32-bit path; the same pixels one byte into a buffer take the byte loop.
    const big = image(64, 21);
    const shifted = new Uint8Array(big.data.length + 1);
    shifted.set(big.data, 1);
    const unaligned = { data: shifted.subarray(1), width: 64, height: 21 };
    const a = halve(big);
    const b = halve(unaligned);
    expect([a.width, a.height]).toEqual([32, 10]);
    expect(a.data).toEqual(b.data);
    expect(a.data[0]).toBe((big.data[0]! + big.data[3]! + big.data[192]! + big.data[195]! + 2) >> 2);
  });

  it('identity warp returns the image; integer shifts move it exactly', () => {
    const img = image(40, 30);
    expect(warpAffine(img, [1, 0, 0, 0, 1, 0], 40, 30)).toEqual(img.data);
    const shifted = warpAffine(img, [1, 0, -3, 0, 1, -2], 10, 10);
    expect(Array.from(shifted.subarray(0, 3))).toEqual(
      Array.from(img.data.subarray((2 * 40 + 3) * 3, (2 * 40 + 3) * 3 + 3)),
    );
  });

  it('a window of a whole warp equals the warp shifted by whole pixels (how detector tiles are cut)', () => {
    const pyr = new Pyramid(image(300, 200));
    const opts = {
      mean: [127, 127, 127] as const,
      std: [128, 128, 128] as const,
      fill: [127, 127, 127] as const,
    };
    const [W, H, tx, ty] = [90, 60, 23, 17];
    const whole = warpToPlanar(pyr, [0.3, 0, 0, 0, 0.3, 0], W, H, opts);
    const tile = warpToPlanar(pyr, [0.3, 0, -tx, 0, 0.3, -ty], 32, 24, opts);
    let worst = 0;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 24; y++)
        for (let x = 0; x < 32; x++)
          worst = Math.max(
            worst,
            Math.abs(tile[c * 768 + y * 32 + x]! - whole[c * W * H + (y + ty) * W + x + tx]!),
          );
    expect(worst).toBeLessThan(1e-4);
  });

  it('the separable fast path matches the general loop (scale, 90-degree turns, letterbox fill)', () => {
    const pyr = new Pyramid(image(300, 200));
    const opts = {
      mean: [127, 127, 127] as const,
      std: [128, 128, 128] as const,
      fill: [127, 127, 127] as const,
    };
    const cases: Affine[] = [
      [0.8, 0, -7, 0, 0.8, 3],
      [0.3, 0, 0, 0, 0.3, 0],
      [0, -0.9, 190, 0.9, 0, 0],
      [-1.1, 0, 330, 0, -1.1, 220],
    ];
    for (const m of cases) {
      const fast = warpToPlanar(pyr, m, 64, 48, opts);
      // A rotation of 1e-12 rad forces the general loop.
      const slow = warpToPlanar(pyr, [m[0], m[1] + 1e-12, m[2], m[3] + 1e-12, m[4], m[5]], 64, 48, opts);
      let worst = 0;
      for (let i = 0; i < fast.length; i++) worst = Math.max(worst, Math.abs(fast[i]! - slow[i]!));
      expect(worst).toBeLessThan(1e-4);
    }
  });
});
