/**
 * The basic (CPU) try-on end to end on real photos: a user's face fused into the person wearing
 * the garment in a recompressed chat photo, the background replaced from the person mask, the
 * likeness measured with the identity model; and its errors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../core/config.ts';
import { FaceAnalyzer } from '../../core/face/analyzer.ts';
import { cosine } from '../../core/face/embedding.ts';
import { fusionInput, pickFace, uprightImage } from '../../core/fusion/faces.ts';
import type { FaceInImage } from '../../core/fusion/fuser.ts';
import type { Mask } from '../../core/fusion/raster.ts';
import { prepareIdentity } from '../../core/identity/prepare.ts';
import { decodeImage, encodeJpeg, extractRgb, type RgbImage, resizeRgb } from '../../core/image/codec.ts';
import type { BodyModels } from '../../core/pose/body-models.ts';
import { backgroundImage, composite, tryOnBasic } from '../../core/tryon/basic.ts';
import { loadUserFace } from '../../core/tryon/user-face.ts';
import { ModelStore } from '../../models/store.ts';
import { bytes, FACES, loadBody, photo, px } from './helpers.ts';

let body: BodyModels;
let analyzer: FaceAnalyzer;
let user: FaceInImage;
let userEmbedding: Float32Array;
let garment: RgbImage;
beforeAll(async () => {
  body = await loadBody();
  analyzer = await FaceAnalyzer.load(new ModelStore(config().modelsDir), { threads: 1 });
  const s2 = await photo(`${FACES}/sample2.jpg`);
  const a = await analyzer.analyzeRgb(s2, { embedding: true });
  // The user: the third face from the left of sample2.jpg (frontal, unoccluded).
  const face = pickFace(a, 2, 'user photo');
  user = fusionInput(uprightImage(s2, a), face);
  userEmbedding = face.embedding as Float32Array;
  garment = await decodeImage(await encodeJpeg(await photo(`${FACES}/astronaut.png`), { quality: 80 }));
});
afterAll(async () => {
  await body?.dispose();
  await analyzer?.dispose();
});

describe('basic try-on', () => {
  it("puts the user's face on the garment's wearer, likeness >= 0.6, on a studio background", async () => {
    const r = await tryOnBasic({ body, analyzer }, { garment, user, userEmbedding, background: 'studio' });
    expect(r.engine).toBe('basic');
    expect(r.background).toBe('studio');
    expect([r.image.width, r.image.height]).toEqual([garment.width, garment.height]);
    expect(r.likeness).toBeGreaterThanOrEqual(0.6);
    // The wearer's original identity is gone from the face.
    const orig = (await analyzer.analyzeRgb(garment, { embedding: true })).faces[0];
    const now = (await analyzer.analyzeRgb(r.image, { embedding: true, orientation: false })).faces[0];
    expect(cosine(now.embedding!, orig.embedding!)).toBeLessThan(r.likeness!);
    // Background replaced (top corners, beside the head), the suit kept.
    for (const [x, y] of [
      [8, 8],
      [505, 8],
      [90, 60],
    ])
      expect(px(r.image, x, y)).toEqual([244, 244, 242]);
    const chest = px(garment, 180, 380);
    expect(Math.max(...px(r.image, 180, 380).map((v, c) => Math.abs(v - chest[c])))).toBeLessThanOrEqual(2);
    for (const k of ['people', 'fuse', 'mask', 'background', 'likeness'] as const)
      expect(r.timings[k]).toBeGreaterThan(0);
  });

  it('takes the face and embedding of a prepared identity folder (facechain prepare)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fc-prepared-'));
    try {
      // The user: astronaut.png prepared as an identity; the garment: the rightmost woman of
      // sample4.jpg in her dress (a crop, at chat size, recompressed).
      await prepareIdentity(analyzer, [{ name: 'me.png', bytes: bytes(`${FACES}/astronaut.png`) }], dir);
      const prepared = await loadUserFace(analyzer, dir);
      expect(prepared.from).toBe('prepared');
      const s4 = await photo(`${FACES}/sample4.jpg`);
      const dress = await resizeRgb(extractRgb(s4, 1200, 0, 720, 1448), 360, 724);
      const worn = await decodeImage(await encodeJpeg(dress, { quality: 80 }));
      const r = await tryOnBasic(
        { body, analyzer },
        { garment: worn, user: prepared.face, userEmbedding: prepared.embedding },
      );
      expect(r.background).toBe('keep');
      expect(r.likeness).toBeGreaterThanOrEqual(0.6);
      const missing = await loadUserFace(analyzer, path.join(dir, 'images')).catch((e) => e);
      expect(missing.code).toBe('unreadable_file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('composites over a background photo (cover-cropped) and a soft gradient', async () => {
    const person: RgbImage = { width: 40, height: 30, data: new Uint8Array(40 * 30 * 3).fill(10) };
    const m: Mask = { width: 40, height: 30, data: new Float32Array(40 * 30) };
    for (let y = 10; y < 20; y++) for (let x = 15; x < 25; x++) m.data[y * 40 + x] = 1;
    const bgPhoto: RgbImage = { width: 80, height: 30, data: new Uint8Array(80 * 30 * 3) };
    for (let y = 0; y < 30; y++)
      for (let x = 0; x < 80; x++) bgPhoto.data.set([x * 3, 100, 200], (y * 80 + x) * 3);
    const bg = await backgroundImage('photo', 40, 30, bgPhoto);
    const out = composite(person, m, bg);
    expect(px(out, 20, 15)).toEqual([10, 10, 10]);
    // Left edge of the output = the background photo's column 20 (centre crop of 80 -> 40).
    expect(Math.abs(px(out, 0, 2)[0] - 60)).toBeLessThanOrEqual(3);
    const grad = await backgroundImage('gradient', 40, 30);
    expect(px(grad, 20, 0)[0]).toBeGreaterThan(px(grad, 20, 29)[0]);
    const noPhoto = await tryOnBasic(
      { body, analyzer },
      { garment, user, userEmbedding, background: 'photo' },
    ).catch((e) => e);
    expect(noPhoto.code).toBe('no_background_photo');
  });

  it('says no_person for a garment photo without anyone, several_people for a group', async () => {
    const plain: RgbImage = { width: 160, height: 200, data: new Uint8Array(160 * 200 * 3).fill(240) };
    for (let y = 40; y < 160; y++)
      for (let x = 40; x < 120; x++) plain.data.set([30, 60, 160], (y * 160 + x) * 3);
    const none = await tryOnBasic({ body, analyzer }, { garment: plain, user, userEmbedding }).catch(
      (e) => e,
    );
    expect(none.code).toBe('no_person');
    const group = await resizeRgb(await photo(`${FACES}/sample4.jpg`), 640, 483);
    const many = await tryOnBasic({ body, analyzer }, { garment: group, user, userEmbedding }).catch(
      (e) => e,
    );
    expect(many.code).toBe('several_people');
  });
});
