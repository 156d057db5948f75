import { describe, expect, it } from 'vitest';
import { fuseByLandmarks, fusionLandmarks, LandmarkFuser } from '../../core/fusion/fuser.ts';
import { foreheadPoints } from '../../core/fusion/landmarks.ts';
import { convexHull, fillPolygon } from '../../core/fusion/mask.ts';
import type { Point, RgbImage } from '../../core/fusion/raster.ts';
import { syntheticLandmarks } from './synthetic-face.ts';

function paint(w: number, h: number, f: (x: number, y: number, c: number) => number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = f(x, y, c);
  return { width: w, height: h, data };
}

// A smooth "face" texture in world coordinates, drawn into two frames related by a similarity.
const texture = (u: number, v: number, c: number) =>
  110 + 50 * Math.sin(u / 9 + c) * Math.cos(v / 13) + 0.2 * u;

describe('landmark fusion on synthetic faces', () => {
  const tgtPts = syntheticLandmarks(100, 90, 60);
  // Source frame: world point (u, v) is drawn at q = s·R·(u, v) + t.
  const s = 1.3;
  const th = 0.2;
  const toSrc = ([u, v]: Point): Point => [
    s * (Math.cos(th) * u - Math.sin(th) * v) + 20,
    s * (Math.sin(th) * u + Math.cos(th) * v) - 10,
  ];
  const fromSrc = (x: number, y: number): Point => {
    const a = (x - 20) / s;
    const b = (y + 10) / s;
    return [Math.cos(th) * a + Math.sin(th) * b, -Math.sin(th) * a + Math.cos(th) * b];
  };
  const target = paint(200, 200, (x, y, c) => texture(x, y, c));
  const source = paint(320, 320, (x, y, c) => {
    const [u, v] = fromSrc(x, y);
    return texture(u, v, c);
  });
  const srcPts = tgtPts.map(toSrc);

  it('puts the inner shape of the source, posed like the target, inside the target jaw', () => {
    const dst = fusionLandmarks(srcPts, tgtPts, 1);
    for (let i = 0; i < 68; i++) {
      expect(dst[i][0]).toBeCloseTo(tgtPts[i][0], 6);
      expect(dst[i][1]).toBeCloseTo(tgtPts[i][1], 6);
    }
    const stretched = srcPts.map(([x, y], i) =>
      i >= 36 && i < 48 ? ([x * 1.1, y] as Point) : ([x, y] as Point),
    );
    const half = fusionLandmarks(stretched, tgtPts, 0.5);
    expect(half.slice(0, 17)).toEqual(tgtPts.slice(0, 17));
    expect(half.some((p, i) => Math.abs(p[0] - tgtPts[i][0]) > 0.5)).toBe(true);
  });

  for (const blend of ['poisson', 'feather'] as const) {
    it(`${blend}: the same face seen through a similarity fuses back to the target`, async () => {
      const out = await new LandmarkFuser().fuse(
        { image: source, landmarks: srcPts },
        { image: target, landmarks: tgtPts },
        { blend },
      );
      let maxDiff = 0;
      let sumDiff = 0;
      for (let i = 0; i < out.data.length; i++) {
        const d = Math.abs(out.data[i] - target.data[i]);
        maxDiff = Math.max(maxDiff, d);
        sumDiff += d;
      }
      // Only interpolation and rounding error remain.
      expect(maxDiff).toBeLessThanOrEqual(6);
      expect(sumDiff / out.data.length).toBeLessThan(0.3);
    });
  }

  it('replaces the target face with a different one, and leaves the rest untouched', () => {
    const other = paint(320, 320, (x, y, c) => 60 + (((x >> 3) + (y >> 3)) % 2) * 120 + c * 10);
    const out = fuseByLandmarks({ image: other, landmarks: srcPts }, { image: target, landmarks: tgtPts });
    const centre = (90 * 200 + 100) * 3;
    let changed = 0;
    for (let y = 70; y < 110; y++)
      for (let x = 80; x < 120; x++)
        if (Math.abs(out.data[(y * 200 + x) * 3] - target.data[(y * 200 + x) * 3]) > 10) changed++;
    expect(changed).toBeGreaterThan(400);
    expect(out.data[centre]).not.toBeNaN();
    // Far from the face nothing moves.
    for (const [x, y] of [
      [5, 5],
      [195, 195],
      [100, 10],
    ]) {
      const i = (y * 200 + x) * 3;
      expect(out.data[i]).toBe(target.data[i]);
    }
  });

  it('never paints outside the target face outline, even when the source outline is wider', () => {
    const other = paint(320, 320, (x, y) => (((x >> 2) + (y >> 2)) % 2 ? 250 : 5));
    // Same inner features as the source, but a jaw 40% wider.
    const wide = srcPts.map((p, i) => {
      if (i >= 17) return p;
      const c = srcPts[30];
      return [c[0] + 1.4 * (p[0] - c[0]), p[1]] as Point;
    });
    const out = fuseByLandmarks(
      { image: other, landmarks: wide },
      { image: target, landmarks: tgtPts },
      { keepOutline: 1, keepShape: 1, forehead: 0.2 },
    );
    const hull = convexHull([...tgtPts.slice(0, 27), ...foreheadPoints(tgtPts, 0.2)]);
    const inside = fillPolygon(hull, 200, 200);
    let outsideChanged = 0;
    let insideChanged = 0;
    for (let p = 0; p < 200 * 200; p++) {
      const d = Math.abs(out.data[p * 3] - target.data[p * 3]);
      if (inside.data[p] === 0 && d > 0) outsideChanged++;
      if (inside.data[p] === 1 && d > 30) insideChanged++;
    }
    expect(outsideChanged).toBe(0);
    expect(insideChanged).toBeGreaterThan(1000);
  });

  it('refuses bad options and buffers, and treats undefined options as defaults', () => {
    const src = { image: source, landmarks: srcPts };
    const tgt = { image: target, landmarks: tgtPts };
    expect(() => fuseByLandmarks(src, tgt, { blend: 'soft' as 'feather' })).toThrow(/blend must be/);
    expect(() => fuseByLandmarks(src, tgt, { keepShape: 2 })).toThrow(
      /keepShape must be a number from 0 to 1/,
    );
    expect(() => fuseByLandmarks(src, tgt, { feather: Number.NaN })).toThrow(/feather must be/);
    const short = { ...target, data: target.data.subarray(0, 10) };
    expect(() => fuseByLandmarks(src, { image: short, landmarks: tgtPts })).toThrow(/not an RGB image/);
    const a = fuseByLandmarks(src, tgt, { keepShape: undefined, blend: undefined });
    const b = fuseByLandmarks(src, tgt);
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
  });

  it('refuses landmark sets that are not 68 finite points', () => {
    expect(() =>
      fuseByLandmarks({ image: source, landmarks: srcPts.slice(0, 5) }, { image: target, landmarks: tgtPts }),
    ).toThrow(/68-point/);
    const bad = tgtPts.map((p, i) => (i === 3 ? ([Number.NaN, 1] as Point) : p));
    expect(() =>
      fuseByLandmarks({ image: source, landmarks: srcPts }, { image: target, landmarks: bad }),
    ).toThrow(/finite/);
  });
});
