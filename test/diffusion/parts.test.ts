import { describe, expect, it } from 'vitest';
import { canny } from '../../core/diffusion/canny.ts';
import { applyGuidance } from '../../core/diffusion/guidance.ts';
import { latentPreview } from '../../core/diffusion/preview.ts';
import type { RgbImage } from '../../core/image/codec.ts';

function image(W: number, H: number, f: (x: number, y: number) => number): RgbImage {
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) data.fill(f(x, y), (y * W + x) * 3, (y * W + x) * 3 + 3);
  return { data, width: W, height: H };
}
const edgeAt = (img: RgbImage, x: number, y: number): boolean => img.data[(y * img.width + x) * 3] === 255;

describe('classifier-free guidance', () => {
  it('combines uncond and cond: u + s (c - u)', () => {
    const out = applyGuidance(new Float32Array([1, 2, 3, 6]), 2, 0, new Float32Array(2));
    expect(Array.from(out)).toEqual([5, 10]);
  });

  it('guidance rescale matches the conditional standard deviation (Lin et al. eq. 15-16)', () => {
    // std(c) = 2.1213, std(guided) = 3.5355 → factor 0.6 at rescale 1, 0.8 at rescale 0.5.
    const full = applyGuidance(new Float32Array([1, 2, 3, 6]), 2, 1, new Float32Array(2));
    expect(full[0]).toBeCloseTo(3, 5);
    expect(full[1]).toBeCloseTo(6, 5);
    const half = applyGuidance(new Float32Array([1, 2, 3, 6]), 2, 0.5, new Float32Array(2));
    expect(half[0]).toBeCloseTo(4, 5);
    expect(half[1]).toBeCloseTo(8, 5);
  });
});

describe('canny edges (cv2.Canny conventions: Sobel L1 magnitude, thresholds 100/200)', () => {
  it('finds the outline of a square, one pixel from its border, and nothing elsewhere', () => {
    const img = image(64, 64, (x, y) => (x >= 20 && x < 44 && y >= 20 && y < 44 ? 255 : 0));
    const e = canny(img);
    let count = 0;
    for (let y = 0; y < 64; y++)
      for (let x = 0; x < 64; x++) {
        if (!edgeAt(e, x, y)) continue;
        count++;
        const nearX = (x >= 18 && x <= 21) || (x >= 42 && x <= 45);
        const nearY = (y >= 18 && y <= 21) || (y >= 42 && y <= 45);
        const inBox = x >= 18 && x <= 45 && y >= 18 && y <= 45;
        expect(inBox && (nearX || nearY), `edge at ${x},${y}`).toBe(true);
      }
    // Every row of the left side has an edge pixel next to x = 20.
    for (let y = 22; y < 42; y++) expect(edgeAt(e, 19, y) || edgeAt(e, 20, y), `row ${y}`).toBe(true);
    expect(count).toBeGreaterThan(4 * 20);
    expect(count).toBeLessThan(4 * 24 * 2 + 16);
  });

  it('applies the double threshold with hysteresis', () => {
    // A vertical step of d grey levels has Sobel magnitude 4d beside it.
    const step = (d: number) => canny(image(32, 16, (x) => (x < 16 ? 0 : d)));
    const any = (e: RgbImage) => e.data.some((v) => v === 255);
    expect(any(step(20))).toBe(false); // 80 < low threshold
    expect(any(step(30))).toBe(false); // 120: weak only, never connected to a strong edge
    expect(any(step(60))).toBe(true); // 240 ≥ high threshold
    expect(any(image(16, 16, () => 128))).toBe(false);
  });
});

describe('latent previews', () => {
  it('maps latents to RGB with the linear SD 1.x factors', () => {
    const z = new Float32Array(4 * 2 * 2);
    z[0] = 1; // channel 0 at pixel 0: rgb = (0.3512, 0.2297, 0.3227) → ((v + 1) / 2) * 255
    const p = latentPreview(z, 2, 2);
    expect(Array.from(p.data.slice(0, 6))).toEqual([172, 157, 169, 128, 128, 128]);
  });
});
