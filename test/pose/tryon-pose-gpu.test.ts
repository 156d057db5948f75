/**
 * The generative try-on path (FaceChain's recipe) on fixture models: an oracle inpainting UNet
 * with ControlNet inputs and a fixture OpenPose ControlNet (models/fixtures/sd.ts). The garment
 * mask comes from a JPEG photo of someone wearing it, the pose from the same photo; the garment
 * comes back exactly, and the pose changes what is painted around it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../core/config.ts';
import { SdPipeline } from '../../core/diffusion/generate.ts';
import { FaceAnalyzer } from '../../core/face/analyzer.ts';
import { fusionInput, pickFace, uprightImage } from '../../core/fusion/faces.ts';
import { decodeImage, encodeJpeg, type RgbImage, resizeRgb } from '../../core/image/codec.ts';
import type { BodyModels } from '../../core/pose/body-models.ts';
import { isSkeletonImage } from '../../core/pose/skeleton.ts';
import { type GarmentMask, garmentMask } from '../../core/tryon/garment-mask.ts';
import { tryOnInputs } from '../../core/tryon/inputs.ts';
import { tryOn } from '../../core/tryon/tryon.ts';
import { writeFixtureControlNet, writeFixtureSdModel } from '../../models/fixtures/sd.ts';
import { ModelStore } from '../../models/store.ts';
import { FACES, loadBody, photo, px } from './helpers.ts';

const root = mkdtempSync(path.join(tmpdir(), 'fc-tryon-pose-'));
let pipe: SdPipeline;
let body: BodyModels;
let garment: RgbImage;
let g: GarmentMask;
let pose: RgbImage;

beforeAll(async () => {
  const dir = path.join(root, 'sd');
  writeFixtureSdModel(dir, { inpaint: true, controlnet: true });
  writeFixtureControlNet(path.join(dir, 'controlnet-openpose'));
  pipe = SdPipeline.open(dir, { providers: ['cpu'], threads: 1 });
  await pipe.load();
  body = await loadBody();
  // 128 × 128 keeps the fixture run short; a recompressed chat photo.
  const small = await resizeRgb(await photo(`${FACES}/astronaut.png`), 128, 128);
  garment = await decodeImage(await encodeJpeg(small, { quality: 85 }));
  const inputs = await tryOnInputs({ body }, garment, undefined);
  g = await garmentMask({ body }, garment, undefined);
  expect(Array.from(inputs.garmentMask.data)).toEqual(Array.from(g.mask.data));
  expect(inputs.source).toBe('worn');
  pose = inputs.pose as RgbImage;
  expect(isSkeletonImage(pose)).toBe(true);
  expect([inputs.overlay.width, inputs.overlay.height]).toEqual([128, 128]);
});
afterAll(async () => {
  await pipe?.close();
  await body?.dispose();
  rmSync(root, { recursive: true, force: true });
});

describe('generative try-on with garment mask and pose', () => {
  const run = (withPose: boolean) =>
    tryOn(
      { generator: pipe },
      {
        garment,
        alpha: undefined,
        garmentMask: g.mask,
        ...(withPose ? { pose } : {}),
        prompt: 'a person wearing an orange suit, photo',
        width: 128,
        maxHeight: 128,
        steps: 4,
        seed: 11,
      },
    );

  it('keeps the worn garment pixel for pixel and repaints the rest, steered by the pose', async () => {
    expect(g.source).toBe('worn');
    const plain = await run(false);
    const posed = await run(true);
    const again = await run(true);
    const a = plain.images[0].image;
    const b = posed.images[0].image;
    // Deeper inside the garment than the paste-back feather reaches (erosion 3σ + 3σ, σ = 3): the photo's pixels.
    let inside = 0;
    let exact = 0;
    for (let y = 0; y < 128; y++) {
      for (let x = 0; x < 128; x++) {
        let deep = true;
        for (let dy = -20; dy <= 20 && deep; dy += 4)
          for (let dx = -20; dx <= 20 && deep; dx += 4) {
            const xx = x + dx;
            const yy = y + dy;
            if (xx < 0 || yy < 0 || xx >= 128 || yy >= 128 || !g.mask.data[yy * 128 + xx]) deep = false;
          }
        if (!deep) continue;
        inside++;
        if (px(b, x, y).every((v, c) => v === px(garment, x, y)[c])) exact++;
      }
    }
    expect(inside).toBeGreaterThan(20);
    expect(exact).toBe(inside);
    // Outside the garment the pose ControlNet changed the picture; the same seed repeats it.
    let changed = 0;
    for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) changed++;
    expect(changed).toBeGreaterThan(1000);
    expect(Buffer.from(again.images[0].image.data).equals(Buffer.from(b.data))).toBe(true);
  });

  it("fuses the user's face into every candidate and ranks them by likeness to the user", async () => {
    const analyzer = await FaceAnalyzer.load(new ModelStore(config().modelsDir), { threads: 1 });
    try {
      // The kept region covers the wearer's head and upper body, so each candidate has a face.
      const astro = await resizeRgb(await photo(`${FACES}/astronaut.png`), 256, 256);
      const keep = { width: 256, height: 256, data: new Float32Array(256 * 256) };
      for (let y = 20; y < 256; y++) for (let x = 50; x < 210; x++) keep.data[y * 256 + x] = 1;
      const s2 = await photo(`${FACES}/sample2.jpg`);
      const ua = await analyzer.analyzeRgb(s2, { embedding: true });
      const face = pickFace(ua, 2, 'user');
      const r = await tryOn(
        { generator: pipe, analyzer },
        {
          garment: astro,
          alpha: undefined,
          garmentMask: keep,
          prompt: 'photo',
          width: 256,
          maxHeight: 256,
          steps: 2,
          seed: 3,
          count: 2,
          userFace: fusionInput(uprightImage(s2, ua), face),
          userEmbedding: face.embedding,
        },
      );
      expect(r.images).toHaveLength(2);
      for (const im of r.images) {
        expect(im.fused).toBe(true);
        expect(im.likeness).toBeGreaterThan(0.45);
      }
      expect(r.images[0].likeness!).toBeGreaterThanOrEqual(r.images[1].likeness!);
    } finally {
      await analyzer.dispose();
    }
  });

  it('refuses a garment mask of another size', async () => {
    const wrong = { width: 64, height: 64, data: new Float32Array(64 * 64) };
    const e = await tryOn(
      { generator: pipe },
      { garment, alpha: undefined, garmentMask: wrong, prompt: 'x', width: 128, maxHeight: 128, steps: 2 },
    ).catch((x) => x);
    expect(e.code).toBe('size_mismatch');
  });
});
