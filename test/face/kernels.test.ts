/**
 * The WebAssembly kernels (core/image/kernels.wat): the committed binary is what its source
 * compiles to; a pyramid built in a kernel arena has exactly the levels of the JS halving, for
 * every width (the 16-pixel SIMD steps and the one-pixel tail), photo after photo; and planar
 * samples taken in the arena are the JS loop's floats, bit for bit.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RgbImage } from '../../core/image/codec.ts';
import { KernelArena, kernelsAvailable } from '../../core/image/kernels.ts';
import { type Affine, halve, Pyramid, PyramidPool, warpToPlanar } from '../../core/image/warp.ts';
import { compileKernels, KERNELS_WASM, KERNELS_WAT } from '../../scripts/build-kernels.ts';

function image(w: number, h: number, seed = 1) {
  const data = new Uint8Array(w * h * 3);
  let x = seed * 2654435761;
  for (let i = 0; i < data.length; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    data[i] = x & 255;
  }
  return { data, width: w, height: h };
}

/** Every level down to one pixel, by the JS loop alone. */
function jsLevels(img: RgbImage): RgbImage[] {
  const out = [img];
  let last = img;
  while (last.width >= 2 && last.height >= 2) {
    last = halve(last);
    out.push(last);
  }
  return out;
}

describe('WebAssembly image kernels', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('kernels.wasm is the compiled kernels.wat (run `npm run build:kernels` after editing it)', async () => {
    const built = await compileKernels(readFileSync(KERNELS_WAT, 'utf8'));
    expect(Buffer.from(readFileSync(KERNELS_WASM)).equals(Buffer.from(built))).toBe(true);
  });

  it('are available on the supported Node versions (the JS loops are only a fallback)', () => {
    expect(kernelsAvailable()).toBe(true);
  });

  it('halve exactly as the JS loop: every width class, odd sizes, photo after photo in one pool', () => {
    const pool = new PyramidPool();
    expect(pool.arena).toBeDefined();
    const halvings = vi.spyOn(KernelArena.prototype, 'halve');
    // Widths around the 16-pixel step (8 output pixels), odd widths and heights, 2-pixel images,
    // and a larger image after smaller ones (the arena grows) and a smaller one after it.
    const sizes: [number, number][] = [
      [2, 2],
      [3, 5],
      [15, 4],
      [16, 16],
      [17, 9],
      [31, 7],
      [33, 33],
      [64, 21],
      [1920, 1280],
      [301, 199],
      [1, 40],
      [40, 1],
      // Rows too long for the work region: the JS loop halves.
      [200_000, 2],
    ];
    for (const [i, [w, h]] of sizes.entries()) {
      const img = image(w, h, i + 1);
      const expected = jsLevels(img);
      const pyr = new Pyramid(img, pool);
      expect(Buffer.from(pyr.base.data).equals(Buffer.from(img.data))).toBe(true);
      for (let k = 1; k < expected.length + 2; k++) {
        const want = expected[Math.min(k, expected.length - 1)]!;
        const got = pyr.level(k);
        expect([got.width, got.height]).toEqual([want.width, want.height]);
        expect(Buffer.from(got.data).equals(Buffer.from(want.data)), `${w}x${h} level ${k}`).toBe(true);
      }
    }
    // All but the images with one row or column, or rows too long, were halved in the arena.
    expect(new Set(halvings.mock.calls.map((c) => c[1])).size).toBeGreaterThanOrEqual(9);
  });

  it('a very large photo gets an arena of its own, so the pool does not keep its memory', () => {
    const pool = new PyramidPool();
    new Pyramid(image(64, 64), pool).level(3);
    const kept = pool.arena!.size;
    // 4200 x 4200: 17.6 MB of levels, over the 16 MiB an analyzer keeps.
    const big = image(4200, 4200, 7);
    const pyr = new Pyramid(big, pool);
    expect(Buffer.from(pyr.level(2).data).equals(Buffer.from(halve(halve(big)).data))).toBe(true);
    expect(pool.arena!.size).toBe(kept);
  });

  it('planar samples from an arena equal the JS loop bit for bit: scales, turns, borders, BGR, bands', () => {
    const pool = new PyramidPool();
    const planar = vi.spyOn(KernelArena.prototype, 'planar');
    const opts = { mean: [127, 127, 127], std: [128, 128, 128], fill: [127, 127, 127] } as const;
    // Every case reads a level below the base (2x reduction or more), which lies in the arena.
    const cases: [number, number, Affine, number, number, boolean][] = [
      // The detector's whole-image pass (letterboxed: fill below), and 90-degree turns of it.
      [1920, 1280, [1 / 6, 0, 0, 0, 1 / 6, 0], 320, 240, false],
      [1920, 1280, [0, -1 / 6, 1280 / 6, 1 / 6, 0, 0], 320, 240, false],
      [1920, 1280, [0, 1 / 6, 0, -1 / 6, 0, 320], 320, 240, false],
      // A tiled pass's scaled image, a 180-degree turn, BGR with a sub-pixel shift.
      [1920, 1280, [0.3, 0, 0, 0, 0.3, 0], 576, 384, false],
      [602, 398, [-0.45, 0, 290, 0, -0.45, 190], 64, 48, false],
      [602, 398, [0.4, 0, -7.25, 0, 0.4, 3.5], 64, 48, true],
      // A 3x2 level stretched over 20x16: most pixels on the one-pixel border ring or outside.
      [6, 4, [0.4, 0, 8, 0, 0.4, 6], 20, 16, false],
      // Wider than one band of the work region holds many rows of: several bands.
      [12000, 80, [0.5, 0, 0, 0, 0.5, 0], 6000, 40, false],
    ];
    for (const [i, [w, h, m, outW, outH, bgr]] of cases.entries()) {
      const img = image(w, h, 20 + i);
      const want = warpToPlanar(new Pyramid(img), m, outW, outH, { ...opts, bgr });
      const calls = planar.mock.calls.length;
      const got = warpToPlanar(new Pyramid(img, pool), m, outW, outH, { ...opts, bgr });
      expect(planar.mock.calls.length, `case ${i} sampled in the arena`).toBeGreaterThan(calls);
      expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer)), `case ${i}`).toBe(true);
    }
    expect(planar.mock.calls.length).toBeGreaterThan(cases.length); // the wide case took several bands
  });

  it('when an arena cannot grow, the photo takes the JS loops with the same results', () => {
    const pool = new PyramidPool();
    vi.spyOn(KernelArena.prototype, 'reserve').mockImplementation(() => {
      throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
    });
    const halvings = vi.spyOn(KernelArena.prototype, 'halve');
    const img = image(640, 480, 9);
    const pyr = new Pyramid(img, pool);
    expect(Buffer.from(pyr.level(2).data).equals(Buffer.from(halve(halve(img)).data))).toBe(true);
    expect(pyr.kernelSource(pyr.level(1))).toBeUndefined();
    expect(halvings).not.toHaveBeenCalled();
  });

  it('an arena grows on demand and its views read what the kernels wrote', () => {
    const arena = KernelArena.create()!;
    const img = image(48, 6, 3);
    arena.reserve(img.data.length + 24 * 3 * 3);
    arena.view(0, img.data.length).set(img.data);
    arena.halve(0, 48, 6, img.data.length);
    expect(Buffer.from(arena.view(img.data.length, 24 * 3 * 3)).equals(Buffer.from(halve(img).data))).toBe(
      true,
    );
  });
});
