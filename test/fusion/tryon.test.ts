import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../core/fusion/raster.ts';
import { garmentMaskFromAlpha, inpaintMask, pasteGarment } from '../../core/tryon/garment.ts';

const W = 80;
const H = 100;

/** A "shirt": an opaque rectangle with a soft alpha edge on a transparent background. */
function shirtAlpha(): Uint8Array {
  const a = new Uint8Array(W * H);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      if (x >= 20 && x < 60 && y >= 30 && y < 90) a[y * W + x] = x === 20 ? 100 : 255;
  return a;
}

function solid(r: number, g: number, b: number): RgbImage {
  const data = new Uint8Array(W * H * 3);
  for (let i = 0; i < W * H; i++) data.set([r, g, b], i * 3);
  return { width: W, height: H, data };
}

describe('try-on garment masks and paste-back', () => {
  it('takes the garment from alpha with a threshold', () => {
    const m = garmentMaskFromAlpha(shirtAlpha(), W, H);
    expect(m.data.reduce((s, v) => s + v, 0)).toBe(39 * 60);
    expect(m.data[50 * W + 20]).toBe(0);
    expect(m.data[50 * W + 21]).toBe(1);
  });

  it('refuses images without usable transparency, saying what to send', () => {
    expect(() => garmentMaskFromAlpha(undefined, W, H)).toThrow(/transparent background/);
    expect(() => garmentMaskFromAlpha(new Uint8Array(W * H).fill(255), W, H)).toThrow(/fully opaque/);
    const speck = new Uint8Array(W * H);
    speck[0] = 255;
    expect(() => garmentMaskFromAlpha(speck, W, H)).toThrow(/covers only/);
  });

  it('inpaints everything but the eroded garment', () => {
    const g = garmentMaskFromAlpha(shirtAlpha(), W, H);
    const m = inpaintMask(g, 5);
    expect(m.data[0]).toBe(1);
    expect(m.data[60 * W + 40]).toBe(0); // garment centre is kept
    expect(m.data[60 * W + 23]).toBe(1); // within 5 px of the garment edge: repainted
    expect(m.data[60 * W + 27]).toBe(0);
  });

  it('pastes the garment back exactly in its interior, leaves the outside generated', () => {
    const g = garmentMaskFromAlpha(shirtAlpha(), W, H);
    const out = pasteGarment(solid(10, 200, 30), solid(250, 0, 0), g, { featherSigma: 2 });
    const px = (x: number, y: number) => Array.from(out.data.subarray((y * W + x) * 3, (y * W + x) * 3 + 3));
    expect(px(40, 60)).toEqual([250, 0, 0]);
    expect(px(5, 5)).toEqual([10, 200, 30]);
    expect(px(20, 60)).toEqual([10, 200, 30]); // the feather stays inside the garment: no halo
    const edge = px(25, 60)[0];
    expect(edge).toBeGreaterThan(10);
    expect(edge).toBeLessThan(250);
    expect(() => pasteGarment(solid(0, 0, 0), { width: 1, height: 1, data: new Uint8Array(3) }, g)).toThrow(
      /same size/,
    );
  });
});
