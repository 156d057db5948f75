/**
 * Garment masks from ordinary photos: a cut-out's alpha, a product photo on a plain background
 * (recompressed JPEG), a garment worn by one person (face, hair, hands and bare arms left out),
 * and the errors for several people, no garment and a garment too small.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../core/config.ts';
import { FaceAnalyzer } from '../../core/face/analyzer.ts';
import type { Mask } from '../../core/fusion/raster.ts';
import { decodeImage, encodeJpeg, type RgbImage, resizeRgb } from '../../core/image/codec.ts';
import type { BodyModels } from '../../core/pose/body-models.ts';
import { coverage } from '../../core/pose/mask-ops.ts';
import { maskOverlay } from '../../core/pose/overlay.ts';
import { garmentMask } from '../../core/tryon/garment-mask.ts';
import { ModelStore } from '../../models/store.ts';
import { FACES, iou, loadBody, photo, px } from './helpers.ts';

let body: BodyModels;
let faces: FaceAnalyzer;
let astronaut: RgbImage;
let worn: Mask;
let wornResult: Awaited<ReturnType<typeof garmentMask>>;
beforeAll(async () => {
  body = await loadBody();
  faces = await FaceAnalyzer.load(new ModelStore(config().modelsDir), { threads: 1 });
  // A chat photo: recompressed JPEG.
  astronaut = await decodeImage(await encodeJpeg(await photo(`${FACES}/astronaut.png`), { quality: 75 }));
  wornResult = await garmentMask({ body, faces }, astronaut, undefined);
  worn = wornResult.mask;
});
afterAll(async () => {
  await body?.dispose();
  await faces?.dispose();
});

const at = (m: Mask, x: number, y: number) => m.data[y * m.width + x];

describe('garment masks', () => {
  it('worn by one person: the suit, without face, hair or the background', async () => {
    const g = wornResult;
    expect(g.source).toBe('worn');
    expect(g.people?.coco).toHaveLength(1);
    expect(g.coverage).toBeGreaterThan(0.15);
    expect(g.coverage).toBeLessThan(0.5);
    const [face] = (await faces.analyzeRgb(astronaut)).faces;
    // Face and hair: nothing of the garment inside the face box or above it.
    const [x1, y1, x2, y2] = face.box.map(Math.round);
    let inFace = 0;
    for (let y = Math.max(0, y1 - 40); y < y2; y++) for (let x = x1; x < x2; x++) inFace += at(g.mask, x, y);
    expect(inFace).toBe(0);
    // The suit's chest and sleeve are garment; the background (top corners) is not.
    expect(at(g.mask, 180, 380)).toBe(1);
    expect(at(g.mask, 80, 330)).toBe(1);
    expect(at(g.mask, 10, 10)).toBe(0);
    expect(at(g.mask, 500, 10)).toBe(0);
  });

  it('a cut-out PNG uses its alpha, before any model runs', async () => {
    const alpha = new Uint8Array(astronaut.width * astronaut.height);
    for (let i = 0; i < alpha.length; i++) alpha[i] = worn.data[i] ? 255 : 0;
    const g = await garmentMask({ body }, astronaut, alpha);
    expect(g.source).toBe('alpha');
    expect(iou(g.mask, worn)).toBe(1);
  });

  it('a product photo on a plain background (JPEG): the garment against the background', async () => {
    // The suit cut out of the photo and laid on an off-white background, recompressed.
    const product: RgbImage = { ...astronaut, data: new Uint8Array(astronaut.data.length) };
    for (let i = 0; i < worn.data.length; i++)
      product.data.set(worn.data[i] ? astronaut.data.subarray(i * 3, i * 3 + 3) : [238, 236, 232], i * 3);
    const jpeg = await decodeImage(await encodeJpeg(product, { quality: 70 }));
    const g = await garmentMask({ body, faces }, jpeg, undefined);
    expect(g.source).toBe('product');
    expect(iou(g.mask, worn)).toBeGreaterThan(0.9);
  });

  it('refuses several people, a busy photo without a person, and a garment too small', async () => {
    // A group photo at chat size.
    const group = await resizeRgb(await photo(`${FACES}/sample2.jpg`), 640, 427);
    const several = await garmentMask({ body, faces }, group, undefined).catch((e) => e);
    expect(several.code).toBe('several_people');
    // Noise: no person and no plain background.
    const noise: RgbImage = { width: 160, height: 120, data: new Uint8Array(160 * 120 * 3) };
    let s = 7;
    for (let i = 0; i < noise.data.length; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      noise.data[i] = s >>> 24;
    }
    expect((await garmentMask({ body }, noise, undefined).catch((e) => e)).code).toBe('no_garment');
    // A 12 × 12 red patch on white: found, but far too small.
    const tiny: RgbImage = { width: 200, height: 200, data: new Uint8Array(200 * 200 * 3).fill(250) };
    for (let y = 90; y < 102; y++)
      for (let x = 90; x < 102; x++) tiny.data.set([200, 20, 20], (y * 200 + x) * 3);
    expect((await garmentMask({ body }, tiny, undefined).catch((e) => e)).code).toBe('garment_too_small');
  });

  it('shows the mask on the photo: dimmed outside, tinted inside', () => {
    const o = maskOverlay(astronaut, worn);
    expect([o.width, o.height]).toEqual([astronaut.width, astronaut.height]);
    const outside = px(astronaut, 10, 10);
    expect(px(o, 10, 10)).toEqual(outside.map((v) => Math.round(v * 0.35)));
    const inside = px(astronaut, 180, 380);
    expect(px(o, 180, 380)).toEqual(inside.map((v, c) => Math.round(v * 0.7 + [255, 60, 140][c] * 0.3)));
    expect(coverage(worn)).toBeGreaterThan(0);
  });
});
