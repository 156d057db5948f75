/** prepareIdentity on real photos: files written, FaceChain format, reject reasons. */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaceAnalyzer } from '../../core/face/analyzer.ts';
import { cosine } from '../../core/face/embedding.ts';
import { agePhrase, caption, TRIGGER_TOKEN } from '../../core/identity/caption.ts';
import { type PhotoInput, prepareIdentity } from '../../core/identity/prepare.ts';
import {
  decodeImage,
  encodeJpeg,
  encodePng,
  extractRgb,
  flipRgb,
  type RgbImage,
} from '../../core/image/codec.ts';
import { blur, brighten, fixtureBytes, fixtureRgb, loadAnalyzer } from './helpers.ts';

let analyzer: FaceAnalyzer;
let tmp: string;
beforeAll(async () => {
  analyzer = await loadAnalyzer();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'facechain-prepare-'));
});
afterAll(async () => {
  await analyzer?.dispose();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function jpeg(name: string, img: RgbImage, quality = 92): Promise<PhotoInput> {
  return { name, bytes: await encodeJpeg(img, { quality }) };
}

describe('prepareIdentity', () => {
  it('rejects each unusable photo with its reason and keeps the good one', async () => {
    const astro = await fixtureRgb('astronaut.png');
    const s2 = await fixtureRgb('sample2.jpg');
    const jpegBytes = fixtureBytes('messi5.jpg');
    const photos: PhotoInput[] = [
      { name: 'astronaut.png', bytes: fixtureBytes('astronaut.png') },
      { name: 'group.jpg', bytes: fixtureBytes('sample2.jpg') },
      await jpeg('background.jpg', extractRgb(astro, 0, 0, 150, 512)),
      { name: 'small.jpg', bytes: jpegBytes },
      await jpeg('blurry.jpg', blur(astro, 2)),
      await jpeg('closed.jpg', extractRgb(s2, 1230, 0, 620, 650)),
      await jpeg('profile.jpg', extractRgb(s2, 150, 0, 550, 650)),
      { name: 'broken.jpg', bytes: jpegBytes.subarray(0, 5000) },
      await jpeg('again.jpg', astro, 90),
    ];
    const progress: number[] = [];
    const out = path.join(tmp, 'mixed');
    const report = await prepareIdentity(analyzer, photos, out, { onProgress: (d) => progress.push(d) });
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const codes = Object.fromEntries(report.rejected.map((r) => [r.file, r.code]));
    expect(codes).toEqual({
      'group.jpg': 'several_faces',
      'background.jpg': 'no_face',
      'small.jpg': 'face_too_small',
      'blurry.jpg': 'too_blurry',
      'closed.jpg': 'eyes_closed',
      'profile.jpg': 'extreme_pose',
      'broken.jpg': 'corrupt_image',
      'again.jpg': 'duplicate',
    });
    for (const r of report.rejected) expect(r.message).toContain(r.file);
    expect(report.accepted.map((a) => a.file)).toEqual(['astronaut.png']);
    expect(report.template).toEqual({ file: 'astronaut.png', image: 'images/0.png' });
    expect(await readdir(path.join(out, 'images'))).toEqual(['0.png', 'metadata.jsonl']);
  });

  it('writes FaceChain crops, metadata.jsonl and report.json, and rejects a different person', async () => {
    const astro = await fixtureRgb('astronaut.png');
    const s4 = await fixtureRgb('sample4.jpg');
    const photos: PhotoInput[] = [
      { name: 'a.png', bytes: fixtureBytes('astronaut.png') },
      await jpeg('b.jpg', flipRgb(astro)),
      await jpeg('c.jpg', brighten(extractRgb(astro, 60, 10, 400, 450), 1.2)),
      await jpeg('stranger.jpg', extractRgb(s4, 520, 0, 480, 520)),
    ];
    const out = path.join(tmp, 'set');
    // These are three edits of one shot, so count them as different photos here.
    const report = await prepareIdentity(analyzer, photos, out, { thresholds: { duplicate: 0.999 } });
    expect(report.rejected).toEqual([
      expect.objectContaining({ file: 'stranger.jpg', code: 'different_person' }),
    ]);
    expect(report.accepted.map((a) => [a.file, a.image])).toEqual([
      ['a.png', 'images/0.png'],
      ['b.jpg', 'images/1.png'],
      ['c.jpg', 'images/2.png'],
    ]);

    // metadata.jsonl: one line per crop, FaceChain's exact spacing, caption from the identity.
    const text = caption(report.identity.gender, report.identity.ageBand);
    expect(text.startsWith(`${TRIGGER_TOKEN}, `)).toBe(true);
    expect(text).toBe(`<fcsks>, ${agePhrase(report.identity.gender, report.identity.ageBand)}`);
    const jsonl = await readFile(path.join(out, 'metadata.jsonl'), 'utf8');
    expect(jsonl).toBe(
      [0, 1, 2].map((n) => `{"file_name": "${n}.png", "text": "${text}"}`).join('\n') + '\n',
    );
    expect(await readFile(path.join(out, 'images', 'metadata.jsonl'), 'utf8')).toBe(jsonl);

    // report.json round-trips and carries a unit-length identity embedding.
    const saved = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
    expect(saved.accepted).toHaveLength(3);
    expect(saved.identity.embedding).toHaveLength(512);
    expect(Math.hypot(...saved.identity.embedding)).toBeCloseTo(1, 4);
    expect(['a.png', 'b.jpg', 'c.jpg']).toContain(saved.template.file);

    // Each crop is 512x512 with the face where FaceChain puts it and the same identity.
    const original = (await analyzer.analyzeRgb(astro, { embedding: true })).faces[0]!;
    for (const n of [0, 1, 2]) {
      const png = await readFile(path.join(out, 'images', `${n}.png`));
      const img = await decodeImage(png);
      expect([img.width, img.height]).toEqual([512, 512]);
      const a = await analyzer.analyzeRgb(img, { embedding: true });
      expect(a.rotation).toBe(0);
      const f = a.faces[0]!;
      const cx = (f.box[0] + f.box[2]) / 2;
      const cy = (f.box[1] + f.box[3]) / 2;
      expect(Math.abs(cx - 256)).toBeLessThan(30);
      expect(Math.abs(cy - (0.5 / 1.15) * 512)).toBeLessThan(40);
      expect(f.box[2] - f.box[0]).toBeGreaterThan(0.2 * 512);
      expect(f.box[2] - f.box[0]).toBeLessThan(0.45 * 512);
      expect(Math.abs(f.pose.roll)).toBeLessThan(10);
      expect(cosine(f.embedding!, original.embedding!)).toBeGreaterThan(0.8);
      // White padding where the crop runs past the photo (the photo's top edge is above the face).
      expect(Array.from(img.data.subarray(0, 3))).toEqual([255, 255, 255]);
    }
  });

  it('says which photo failed for what reason when nothing survives', async () => {
    const astro = await fixtureRgb('astronaut.png');
    const photos = [
      { name: 'tiny.jpg', bytes: fixtureBytes('messi5.jpg') },
      await jpeg('wall.jpg', extractRgb(astro, 0, 0, 150, 512)),
      { name: 'empty.jpg', bytes: new Uint8Array(0) },
    ];
    const err = await prepareIdentity(analyzer, photos, path.join(tmp, 'none')).catch((e) => e);
    expect(err.code).toBe('no_usable_photos');
    expect(err.message).toMatch(/tiny\.jpg: face_too_small/);
    expect(err.message).toMatch(/wall\.jpg: no_face/);
    expect(err.message).toMatch(/empty\.jpg: empty_file/);
    expect(err.message).toMatch(/A good photo shows one person/);
  });

  it('stops with a cancelled error when the signal fires mid-way', async () => {
    const ac = new AbortController();
    const photos = [0, 1, 2].map((i) => ({ name: `${i}.png`, bytes: fixtureBytes('astronaut.png') }));
    const seen: number[] = [];
    const err = await prepareIdentity(analyzer, photos, path.join(tmp, 'cancel'), {
      signal: ac.signal,
      onProgress: (done) => {
        seen.push(done);
        ac.abort();
      },
    }).catch((e) => e);
    expect(err.code).toBe('cancelled');
    expect(seen).toEqual([1]);
  });

  it('accepts 1-20 photos only', async () => {
    await expect(prepareIdentity(analyzer, [], path.join(tmp, 'x'))).rejects.toMatchObject({
      code: 'no_photos',
    });
    const one = { name: 'p.png', bytes: await encodePng({ data: new Uint8Array(3), width: 1, height: 1 }) };
    await expect(prepareIdentity(analyzer, Array(21).fill(one), path.join(tmp, 'x'))).rejects.toMatchObject({
      code: 'too_many_photos',
    });
  });
});
