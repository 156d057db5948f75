import { describe, expect, it } from 'vitest';
import { featherBlend, poissonBlend } from '../../core/fusion/blend.ts';
import { labToRgbInto, maskedStats, rgbToLab, transferColor } from '../../core/fusion/color.ts';
import { distanceInside, erode, fillPolygon, gaussianBlur } from '../../core/fusion/mask.ts';
import type { FloatRgb, Mask, Point } from '../../core/fusion/raster.ts';
import { floatRgb, mask } from '../../core/fusion/raster.ts';

function disc(w: number, h: number, cx: number, cy: number, r: number): Mask {
  const m = mask(w, h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) m.data[y * w + x] = (x - cx) ** 2 + (y - cy) ** 2 <= r * r ? 1 : 0;
  return m;
}

const sum = (a: Float32Array) => a.reduce((s, v) => s + v, 0);

function fill(w: number, h: number, f: (x: number, y: number, c: number) => number): FloatRgb {
  const img = floatRgb(w, h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) img.data[(y * w + x) * 3 + c] = f(x, y, c);
  return img;
}

describe('masks', () => {
  it('fills a polygon by pixel centres', () => {
    const sq: Point[] = [
      [2, 3],
      [12, 3],
      [12, 8],
      [2, 8],
    ];
    const m = fillPolygon(sq, 20, 20);
    // Half-open in y (rows 3..7), closed in x (columns 2..12).
    expect(sum(m.data)).toBe(11 * 5);
    expect(m.data[3 * 20 + 2]).toBe(1);
    expect(m.data[2 * 20 + 2]).toBe(0);
    const shifted = fillPolygon(sq, 20, 20, [2, 3]);
    expect(shifted.data[0]).toBe(1);
  });

  it('measures Euclidean distance to the outside', () => {
    const m = mask(9, 9);
    m.data.fill(1);
    m.data[4 * 9 + 4] = 0;
    const d = distanceInside(m);
    expect(d[4 * 9 + 4]).toBe(0);
    expect(d[4 * 9 + 6]).toBeCloseTo(2, 9);
    expect(d[6 * 9 + 6]).toBeCloseTo(Math.SQRT2 * 2, 5);
    // The image border counts as outside: the corner pixel is one step from it.
    expect(d[0]).toBe(1);
  });

  it('erodes a disc into a smaller disc', () => {
    const m = disc(101, 101, 50, 50, 40);
    const e = erode(m, 10);
    const area = sum(e.data);
    expect(Math.abs(area - Math.PI * 30 * 30) / (Math.PI * 30 * 30)).toBeLessThan(0.03);
    expect(e.data[50 * 101 + 50]).toBe(1);
    expect(e.data[50 * 101 + 50 + 35]).toBe(0);
  });

  it('blurs without changing a constant or the total of an interior shape', () => {
    const c = mask(30, 30);
    c.data.fill(0.7);
    for (const v of gaussianBlur(c, 3).data) expect(v).toBeCloseTo(0.7, 5);
    const d = disc(80, 80, 40, 40, 10);
    const b = gaussianBlur(d, 4);
    expect(sum(b.data)).toBeCloseTo(sum(d.data), 1);
    expect(b.data[40 * 80 + 40]).toBeLessThan(1);
    expect(b.data[40 * 80 + 40 + 12]).toBeGreaterThan(0);
  });
});

describe('colour', () => {
  it('converts known colours to Lab and back', () => {
    const img = fill(
      3,
      1,
      (x, _y, c) =>
        [
          [255, 255, 255],
          [255, 0, 0],
          [40, 120, 200],
        ][x][c],
    );
    const lab = rgbToLab(img);
    expect(lab[0]).toBeCloseTo(100, 2);
    expect(Math.abs(lab[1])).toBeLessThan(0.01);
    expect(lab[3]).toBeCloseTo(53.24, 1);
    expect(lab[4]).toBeCloseTo(80.09, 1);
    expect(lab[5]).toBeCloseTo(67.2, 1);
    const back = floatRgb(3, 1);
    labToRgbInto(lab, back);
    for (let i = 0; i < 9; i++) expect(back.data[i]).toBeCloseTo(img.data[i], 2);
  });

  it('matches the masked Lab statistics of the reference', () => {
    const src = fill(40, 40, (x, y, c) => 60 + x * 2 + c * 10 + (y % 5));
    const ref = fill(40, 40, (x, y, c) => 150 + ((x * 7 + y * 3) % 40) - c * 15);
    const m = disc(40, 40, 20, 20, 15);
    transferColor(src, ref, m, { minGain: 0, maxGain: 100 });
    const a = maskedStats(rgbToLab(src), m);
    const b = maskedStats(rgbToLab(ref), m);
    for (let c = 0; c < 3; c++) {
      expect(a.mean[c]).toBeCloseTo(b.mean[c], 1);
      expect(a.std[c]).toBeCloseTo(b.std[c], 1);
    }
  });
});

describe('blending', () => {
  it('feather blend: an all-ones mask gives the overlay, all-zeros the base, half the mean', () => {
    const base = fill(10, 10, (x, y, c) => x + y + c);
    const over = fill(10, 10, (x, _y, c) => 200 - x - c);
    const ones = mask(10, 10);
    ones.data.fill(1);
    expect(Array.from(featherBlend(base, over, ones).data)).toEqual(Array.from(over.data));
    expect(Array.from(featherBlend(base, over, mask(10, 10)).data)).toEqual(Array.from(base.data));
    ones.data.fill(0.5);
    const half = featherBlend(base, over, ones).data;
    for (let i = 0; i < half.length; i++) expect(half[i]).toBeCloseTo((base.data[i] + over.data[i]) / 2, 4);
  });

  it('Poisson: a source that differs from the base by a constant clones to the base exactly', () => {
    const base = fill(60, 50, (x, y, c) => 50 + x + 0.5 * y + 20 * Math.sin(x / 5) + c);
    const src = fill(60, 50, (x, y, c) => base.data[(y * 60 + x) * 3 + c] + 37);
    const r = poissonBlend(base, src, disc(60, 50, 30, 25, 18));
    expect(r.iterations).toBeGreaterThan(0);
    for (let i = 0; i < base.data.length; i++) expect(r.image.data[i]).toBeCloseTo(base.data[i], 1);
  });

  it('Poisson: a flat source takes the harmonic (here linear) fill of the base boundary', () => {
    const base = fill(60, 50, (x, y, c) => 20 + 2 * x + y + 5 * c);
    const src = fill(60, 50, () => 128);
    const region = disc(60, 50, 30, 25, 18);
    const r = poissonBlend(base, src, region, { tolerance: 1e-4 });
    for (let i = 0; i < base.data.length; i++)
      expect(Math.abs(r.image.data[i] - base.data[i])).toBeLessThan(0.05);
  });

  it('Poisson: keeps the source gradients inside the region', () => {
    const base = fill(60, 50, () => 100);
    const src = fill(60, 50, (x, y) => 10 * Math.sin(x / 3) * Math.cos(y / 4));
    const region = disc(60, 50, 30, 25, 18);
    const r = poissonBlend(base, src, region, { tolerance: 1e-4 });
    // Inside, the Laplacian of the result equals the source's: f − src is harmonic.
    const at = (img: FloatRgb, x: number, y: number) => img.data[(y * 60 + x) * 3];
    const lap = (img: FloatRgb, x: number, y: number) =>
      at(img, x - 1, y) + at(img, x + 1, y) + at(img, x, y - 1) + at(img, x, y + 1) - 4 * at(img, x, y);
    let checked = 0;
    for (let y = 10; y < 40; y++) {
      for (let x = 15; x < 45; x++) {
        if ((x - 30) ** 2 + (y - 25) ** 2 > 16 * 16) continue;
        expect(Math.abs(lap(r.image, x, y) - lap(src, x, y))).toBeLessThan(0.01);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(700);
    expect(at(r.image, 5, 5)).toBe(100);
  });
});

describe('Poisson on a large region (coarse-to-fine start)', () => {
  it('matches the exact harmonic fill and converges in fewer sweeps than from a flat start', () => {
    const W = 220;
    const H = 200;
    const base = fill(W, H, (x, y, c) => 20 + 0.8 * x + 0.5 * y + 5 * c);
    const src = fill(W, H, (x, y) => 128 + 20 * Math.sin(x / 7) * Math.sin(y / 9));
    const region = disc(W, H, 110, 100, 85);
    const fast = poissonBlend(base, src, region, { tolerance: 1e-3 });
    const flat = poissonBlend(base, src, region, { tolerance: 1e-3, coarseAbove: Number.POSITIVE_INFINITY });
    expect(fast.iterations).toBeLessThan(flat.iterations);
    let maxDiff = 0;
    for (let i = 0; i < fast.image.data.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(fast.image.data[i] - flat.image.data[i]));
    expect(maxDiff).toBeLessThan(0.5);
    // A flat source over a linear base: the answer is the base itself.
    const flatSrc = fill(W, H, () => 90);
    const lin = poissonBlend(base, flatSrc, region, { tolerance: 1e-4 });
    for (let i = 0; i < base.data.length; i++)
      expect(Math.abs(lin.image.data[i] - base.data[i])).toBeLessThan(0.1);
  });
});
