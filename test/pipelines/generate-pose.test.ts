import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, encodePng, type RgbImage } from '../../core/image/codec.ts';
import { writeFixtureControlNet } from '../../models/fixtures/sd.ts';
import { generateProcessor } from '../../queue/jobs/generate.ts';
import { tryOnGpuProcessor } from '../../queue/jobs/try-on-gpu.ts';
import { target, until } from '../queue/helpers.ts';
import { writeFaceModel } from './face-model.ts';
import { type Harness, photo, prepare, startHarness } from './harness.ts';

let h: Harness;
let modelDir: string;
const USER = 'tg-83';

/** An OpenPose-like skeleton: coloured limbs on black (what a pose image looks like). */
function skeleton(): RgbImage {
  const w = 256;
  const data = new Uint8Array(w * w * 3);
  const limb = (x0: number, y0: number, x1: number, y1: number, rgb: number[]) => {
    for (let t = 0; t <= 200; t++)
      for (let d = -3; d <= 3; d++) {
        const x = Math.round(x0 + ((x1 - x0) * t) / 200) + d;
        const y = Math.round(y0 + ((y1 - y0) * t) / 200);
        if (x >= 0 && x < w && y >= 0 && y < w) data.set(rgb, (y * w + x) * 3);
      }
  };
  limb(128, 40, 128, 150, [255, 0, 0]);
  limb(128, 70, 60, 130, [0, 255, 0]);
  limb(128, 70, 196, 130, [0, 0, 255]);
  limb(128, 150, 90, 240, [255, 255, 0]);
  limb(128, 150, 166, 240, [0, 255, 255]);
  return { width: w, height: w, data };
}

beforeAll(async () => {
  modelDir = mkdtempSync(path.join(os.tmpdir(), 'fc-sdpose-'));
  // A UNet exported with ControlNet residual inputs + the fixture ControlNet as the OpenPose one
  // (its residuals shift the latents by a known amount, so its use is visible in the output).
  await writeFaceModel(modelDir, 'sample2.jpg', 1, { controlnet: true });
  writeFixtureControlNet(path.join(modelDir, 'controlnet-openpose'));
  process.env.FACECHAIN_SD_MODEL_DIR = modelDir;
  h = await startHarness(
    {},
    { processors: { generate: generateProcessor(modelDir), 'try-on-gpu': tryOnGpuProcessor(modelDir) } },
  );
  await prepare(h, USER, 'me', ['astronaut.png']);
}, 180_000);

afterAll(async () => {
  await h?.close();
  delete process.env.FACECHAIN_SD_MODEL_DIR;
  rmSync(modelDir, { recursive: true, force: true });
});

async function run(id: string, data: Record<string, unknown>) {
  const before = h.deliverer.deliveries.length;
  await h.producer.enqueue(
    'generate',
    { user: USER, target: target(USER), identityId: 'me', style: 'studio-headshot', ...data } as never,
    { idempotencyKey: id },
  );
  await until(() => h.deliverer.deliveries.length > before, 120_000);
  return { status: await h.producer.status(id), delivery: h.deliverer.deliveries[before] };
}

describe('generate with a pose image (real queue, fixture OpenPose ControlNet)', () => {
  it('the pose image runs the ControlNet: same seed, different picture; without pose unchanged', async () => {
    const pose = await h.producer.artifacts.put(USER, await encodePng(skeleton()), { ext: 'png' });
    const posed = await run('tg-8301', { mode: 'zero-shot', count: 1, seed: 11, pose: pose.ref });
    expect(posed.status?.error).toBeUndefined();
    expect(posed.status?.state).toBe('completed');
    const plain = await run('tg-8302', { mode: 'zero-shot', count: 1, seed: 11 });
    expect(plain.status?.error).toBeUndefined();
    const again = await run('tg-8303', { mode: 'zero-shot', count: 1, seed: 11 });
    const a = posed.status?.result as { images: string[]; scores: number[] };
    const b = plain.status?.result as { images: string[] };
    const c = again.status?.result as { images: string[] };
    expect(a.images).toHaveLength(1);
    expect(a.scores[0]).toBeGreaterThan(0.45);
    // Content-addressed refs: without pose the same seed repeats exactly; with pose it does not.
    expect(c.images).toEqual(b.images);
    expect(a.images).not.toEqual(b.images);
  });

  it('an ordinary photo of a person gives its pose: the skeleton is sent back, and the picture changes', async () => {
    const photoRef = await h.producer.artifacts.put(USER, photo('messi5.jpg'), { ext: 'jpg' });
    const posed = await run('tg-8305', { mode: 'zero-shot', count: 1, seed: 11, pose: photoRef.ref });
    expect(posed.status?.error).toBeUndefined();
    const r = posed.status?.result as { images: string[]; skeleton?: string };
    const plain = (await h.producer.status('tg-8302'))?.result as { images: string[] };
    expect(r.images).not.toEqual(plain.images);
    // The extracted skeleton is stored and delivered after the portraits, with a line saying so.
    expect(r.skeleton).toBeDefined();
    expect(posed.delivery.reply.images).toEqual([...r.images, r.skeleton]);
    expect(posed.delivery.reply.text).toContain('pose taken from your photo');
    const sk = await decodeImage(await h.producer.artifacts.read(r.skeleton as string));
    // OpenPose's neck-to-right-shoulder limb colour (255, 0, 0) is drawn somewhere.
    let red = 0;
    for (let i = 0; i < sk.data.length; i += 3)
      if (sk.data[i] > 240 && sk.data[i + 1] < 20 && sk.data[i + 2] < 20) red++;
    expect(red).toBeGreaterThan(20);
  });

  it("the generative try-on runs on the engine with the wearer's pose, and fuses and ranks", async () => {
    const garment = await h.producer.artifacts.put(USER, photo('astronaut.png'), { ext: 'png' });
    const before = h.deliverer.deliveries.length;
    await h.producer.enqueue(
      'try-on-gpu',
      { user: USER, target: target(USER), identityId: 'me', garment: garment.ref, seed: 5 } as never,
      { idempotencyKey: 'tg-8306' },
    );
    await until(() => h.deliverer.deliveries.length > before, 120_000);
    const status = await h.producer.status('tg-8306');
    expect(status?.error).toBeUndefined();
    const r = status?.result as { images: string[]; scores: number[]; engine: string; overlay: string };
    expect(r.engine).toBe('inpaint');
    expect(r.images.length).toBeGreaterThan(0);
    expect(r.overlay).toBeDefined();
    const delivered = h.deliverer.deliveries[before];
    expect(delivered.reply.images).toEqual([...r.images, r.overlay]);
  });

  it('a pose ref that is not an image is refused as bad input', async () => {
    const junk = await h.producer.artifacts.put(USER, new TextEncoder().encode('not a picture'), {
      ext: 'png',
    });
    const { status, delivery } = await run('tg-8304', { mode: 'zero-shot', count: 1, pose: junk.ref });
    expect(status?.state).toBe('failed');
    expect(status?.attempts).toBe(1);
    expect(delivery.reply.error?.code).toBe('not_an_image');
  });
});
