/**
 * Template inpainting on the real generation pipeline with fixture ONNX models (an oracle
 * inpainting UNet, models/fixtures/sd.ts): the face region is regenerated and blended back,
 * nothing outside FaceChain's face crop changes, and template mode then fuses the user's face.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../core/config.ts';
import { SdPipeline } from '../../core/diffusion/generate.ts';
import { FaceAnalyzer } from '../../core/face/index.ts';
import { fusionInput, largestFace } from '../../core/fusion/faces.ts';
import { decodeImage, encodePng } from '../../core/image/codec.ts';
import { faceCrop, SdTemplateInpainter } from '../../core/template/inpaint.ts';
import { templatePortrait } from '../../core/template/template.ts';
import { writeFixtureSdModel } from '../../models/fixtures/sd.ts';
import { ModelStore } from '../../models/store.ts';

const root = mkdtempSync(path.join(tmpdir(), 'fc-tpl-'));
let pipe: SdPipeline;
let analyzer: FaceAnalyzer;

beforeAll(async () => {
  writeFixtureSdModel(path.join(root, 'inpaint'), { inpaint: true });
  pipe = SdPipeline.open(path.join(root, 'inpaint'), { providers: ['cpu'], threads: 1 });
  await pipe.load();
  analyzer = await FaceAnalyzer.load(new ModelStore(config().modelsDir));
});
afterAll(async () => {
  await pipe?.close();
  await analyzer?.dispose();
  rmSync(root, { recursive: true, force: true });
});

describe('template inpainting (FaceChain recipe on the generation engine)', () => {
  it('crops like FaceChain-FACT: side = face / 0.7, kept inside the image', () => {
    expect(faceCrop([100, 100, 170, 200], 1000, 800, 0.7)).toEqual({ x0: 64, y0: 79, side: 143 });
    expect(faceCrop([0, 0, 70, 100], 1000, 800, 0.7)).toEqual({ x0: 0, y0: 0, side: 143 });
    expect(faceCrop([0, 0, 400, 400], 300, 500, 0.7).side).toBe(300);
  });

  it('regenerates the face region only, then fuses the user into it', async () => {
    const astro = await decodeImage(readFileSync('test/fixtures/faces/astronaut.png'));
    const a = await analyzer.analyzeRgb(astro);
    const face = largestFace(a, 'template');
    const inpainter = new SdTemplateInpainter(pipe, {
      prompt: 'a portrait photo',
      size: 64,
      steps: 4,
      seed: 7,
    });
    const regenerated = await inpainter.inpaintFace({ template: astro, face });
    const { x0, y0, side } = faceCrop(face.box, 512, 512, 0.7);
    let outsideChanged = 0;
    let faceChanged = 0;
    for (let y = 0; y < 512; y++) {
      for (let x = 0; x < 512; x++) {
        const i = (y * 512 + x) * 3;
        const changed =
          regenerated.data[i] !== astro.data[i] || regenerated.data[i + 1] !== astro.data[i + 1];
        const inCrop = x >= x0 && x < x0 + side && y >= y0 && y < y0 + side;
        if (!inCrop && changed) outsideChanged++;
        if (
          changed &&
          x > face.box[0] + 20 &&
          x < face.box[2] - 20 &&
          y > face.box[1] + 30 &&
          y < face.box[3] - 20
        )
          faceChanged++;
      }
    }
    expect(outsideChanged).toBe(0);
    expect(faceChanged).toBeGreaterThan(1000);

    const user = await decodeImage(readFileSync('test/fixtures/faces/sample2.jpg'));
    const ua = await analyzer.analyzeRgb(user);
    const r = await templatePortrait(
      { analyzer, inpainter },
      fusionInput(user, largestFace(ua, 'user')),
      astro,
      {
        mode: 'inpaint',
      },
    );
    expect(r.method).toBe('inpaint:sd-inpaint+landmark-warp');
    let differsFromRegenerated = 0;
    for (let i = 0; i < r.image.data.length; i += 3)
      if (r.image.data[i] !== regenerated.data[i]) differsFromRegenerated++;
    expect(differsFromRegenerated).toBeGreaterThan(1000);
    mkdirSync('test/.artifacts/fusion', { recursive: true });
    writeFileSync('test/.artifacts/fusion/template-inpaint-regenerated.png', await encodePng(regenerated));
    writeFileSync('test/.artifacts/fusion/template-inpaint-fused.png', await encodePng(r.image));
  });
});
