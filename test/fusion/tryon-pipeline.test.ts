/**
 * Try-on wired to the real generation pipeline (core/diffusion SdPipeline) running fixture ONNX
 * models (models/fixtures/sd.ts: an oracle inpainting UNet whose output is known): the garment
 * comes back pixel-exact, everything around it is repainted.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, NotAvailableError } from '../../base/errors.ts';
import { config } from '../../core/config.ts';
import { SdPipeline } from '../../core/diffusion/generate.ts';
import { cosine, FaceAnalyzer } from '../../core/face/index.ts';
import { fusionInput, largestFace } from '../../core/fusion/faces.ts';
import type { RgbImage } from '../../core/fusion/raster.ts';
import { decodeAlpha, decodeImage, encodeJpeg, encodePngRgba } from '../../core/image/codec.ts';
import { tryOn, tryOnSize } from '../../core/tryon/tryon.ts';
import { writeFixtureSdModel } from '../../models/fixtures/sd.ts';
import { ModelStore } from '../../models/store.ts';

const W = 64;
const H = 96;
const root = mkdtempSync(path.join(tmpdir(), 'fc-tryon-'));
let pipe: SdPipeline;

beforeAll(async () => {
  writeFixtureSdModel(path.join(root, 'inpaint'), { inpaint: true });
  pipe = SdPipeline.open(path.join(root, 'inpaint'), { providers: ['cpu'], threads: 1 });
  await pipe.load();
});
afterAll(async () => {
  await pipe?.close();
  rmSync(root, { recursive: true, force: true });
});

/** A striped "shirt" in the middle of a light background, cut out by alpha. */
function garmentPhoto(): { rgb: RgbImage; alpha: Uint8Array } {
  const rgb = { width: W, height: H, data: new Uint8Array(W * H * 3).fill(235) };
  const alpha = new Uint8Array(W * H);
  for (let y = 32; y < 88; y++) {
    for (let x = 12; x < 52; x++) {
      alpha[y * W + x] = 255;
      rgb.data.set(y % 8 < 4 ? [200, 30, 40] : [30, 40, 200], (y * W + x) * 3);
    }
  }
  return { rgb, alpha };
}

describe('try-on with the generation pipeline', () => {
  it('reads the garment mask from a PNG alpha channel, and none from a JPEG', async () => {
    const { rgb, alpha } = garmentPhoto();
    const png = await encodePngRgba(rgb, alpha);
    const a = await decodeAlpha(png);
    expect(a.width).toBe(W);
    expect(Array.from(a.alpha!)).toEqual(Array.from(alpha));
    expect((await decodeAlpha(await encodeJpeg(rgb))).alpha).toBeUndefined();
    // The RGB side of the same file is unchanged.
    expect(Array.from((await decodeImage(png)).data)).toEqual(Array.from(rgb.data));
  });

  it('keeps the garment exactly and repaints around it', async () => {
    const { rgb, alpha } = garmentPhoto();
    const r = await tryOn(
      { generator: pipe },
      {
        garment: rgb,
        alpha,
        prompt: 'a person wearing a shirt, photo',
        width: W,
        maxHeight: H,
        steps: 6,
        seed: 3,
      },
    );
    expect([r.width, r.height]).toEqual([W, H]);
    const out = r.images[0].image;
    const px = (img: RgbImage, x: number, y: number) =>
      Array.from(img.data.subarray((y * W + x) * 3, (y * W + x) * 3 + 3));
    // Deeper inside the garment than the paste-back feather reaches (2 × 3σ): garment pixels.
    for (const [x, y] of [
      [31, 55],
      [32, 60],
      [33, 66],
    ]) {
      expect(px(out, x, y)).toEqual(px(rgb, x, y));
    }
    // Background: repainted by the generator, not the photo's background.
    let repainted = 0;
    for (let y = 0; y < 24; y++) {
      for (let x = 0; x < W; x++) {
        const [r, g, b] = px(out, x, y);
        if (Math.max(Math.abs(r - 235), Math.abs(g - 235), Math.abs(b - 235)) > 20) repainted++;
      }
    }
    expect(repainted).toBeGreaterThan(24 * W * 0.9);
    expect(r.images[0].fused).toBe(false);
  });

  it("fuses the user's face into the result when a face is in it", async () => {
    const astro = await decodeImage(readFileSync('test/fixtures/faces/astronaut.png'));
    // The "garment" is the whole upper body including the face, so the result keeps a face.
    const alpha = new Uint8Array(512 * 512);
    for (let y = 40; y < 512; y++) for (let x = 100; x < 420; x++) alpha[y * 512 + x] = 255;
    const analyzer = await FaceAnalyzer.load(new ModelStore(config().modelsDir));
    try {
      const user = await decodeImage(readFileSync('test/fixtures/faces/sample2.jpg'));
      const ua = await analyzer.analyzeRgb(user, { embedding: true });
      const userFace = largestFace(ua, 'user');
      const r = await tryOn(
        { generator: pipe, analyzer },
        {
          garment: astro,
          alpha,
          prompt: 'photo',
          width: 256,
          maxHeight: 256,
          steps: 3,
          seed: 1,
          userFace: fusionInput(user, userFace),
        },
      );
      expect(r.images[0].fused).toBe(true);
      const out = r.images[0].image;
      const found = await analyzer.analyzeRgb(out, { embedding: true, orientation: false });
      expect(cosine(found.faces[0].embedding!, userFace.embedding!)).toBeGreaterThan(0.45);
    } finally {
      await analyzer.dispose();
    }
  });

  it('refuses a garment without transparency before anything else, and says when generation is missing', async () => {
    const { rgb, alpha } = garmentPhoto();
    const noAlpha = await tryOn({ generator: pipe }, { garment: rgb, alpha: undefined, prompt: 'x' }).catch(
      (e) => e,
    );
    expect(noAlpha).toBeInstanceOf(InputError);
    expect(noAlpha.code).toBe('garment_no_alpha');
    const missing = await tryOn({}, { garment: rgb, alpha, prompt: 'x' }).catch((e) => e);
    expect(missing).toBeInstanceOf(NotAvailableError);
  });

  it('sizes outputs like FaceChain: 768 wide, at most 1152 high, multiples of 8', () => {
    expect(tryOnSize(1000, 1300, 768, 1152)).toEqual({ width: 768, height: 1000 });
    expect(tryOnSize(600, 1200, 768, 1152)).toEqual({ width: 576, height: 1152 });
    expect(tryOnSize(1000, 1001, 768, 1152)).toEqual({ width: 768, height: 768 });
  });
});
