/**
 * Pose-guided generation from an ordinary photo: the skeleton extracted from a photo steers the
 * OpenPose ControlNet of the generation pipeline (fixture models: models/fixtures/sd.ts), so the
 * same seed gives a different picture per pose, and a skeleton image is used as it is.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SdPipeline } from '../../core/diffusion/generate.ts';
import type { RgbImage } from '../../core/image/codec.ts';
import type { BodyModels } from '../../core/pose/body-models.ts';
import { poseImageFor } from '../../core/pose/pose.ts';
import { writeFixtureControlNet, writeFixtureSdModel } from '../../models/fixtures/sd.ts';
import { BODY, FACES, loadBody, photo } from './helpers.ts';

const root = mkdtempSync(path.join(tmpdir(), 'fc-pose-gen-'));
let pipe: SdPipeline;
let body: BodyModels;

beforeAll(async () => {
  const dir = path.join(root, 'sd');
  writeFixtureSdModel(dir, { controlnet: true });
  writeFixtureControlNet(path.join(dir, 'controlnet-openpose'));
  pipe = SdPipeline.open(dir, { providers: ['cpu'], threads: 1 });
  await pipe.load();
  body = await loadBody();
});
afterAll(async () => {
  await pipe?.close();
  await body?.dispose();
  rmSync(root, { recursive: true, force: true });
});

async function generate(pose?: RgbImage): Promise<Uint8Array> {
  const r = await pipe.generate({
    prompt: 'a person, photo',
    width: 64,
    height: 64,
    steps: 3,
    seed: 5,
    ...(pose
      ? { controls: [{ model: 'openpose', image: pose, scale: 1, preprocess: 'none' as const }] }
      : {}),
  });
  return r.images[0].rgb.data;
}

describe('pose-guided generation from a photo', () => {
  it('a pose taken from a photo changes a same-seed picture, and another pose changes it again', async () => {
    const a = await poseImageFor(body, await photo(`${FACES}/messi5.jpg`), 64, 64);
    const b = await poseImageFor(body, await photo(`${BODY}/standing.png`), 64, 64);
    expect([a.source, b.source]).toEqual(['photo', 'photo']);
    const none = await generate();
    const withA = await generate(a.image);
    const withB = await generate(b.image);
    const differ = (x: Uint8Array, y: Uint8Array) => x.some((v, i) => v !== y[i]);
    expect(differ(none, withA)).toBe(true);
    expect(differ(withA, withB)).toBe(true);
    expect(differ(withA, await generate(a.image))).toBe(false);
    // The extracted skeleton, sent back as a skeleton, is used as it is: the same picture.
    const again = await poseImageFor(body, a.image, 64, 64);
    expect(again.source).toBe('skeleton');
    expect(differ(withA, await generate(again.image))).toBe(false);
  });
});
