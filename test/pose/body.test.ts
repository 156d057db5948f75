/**
 * The body models on real photos against truth marked by hand (test/fixtures/body/README.md):
 * keypoints within 5% of the person's height, the person mask against a drawn outline, several
 * people found in a group photo, pose images from photos and from skeletons.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillPolygon } from '../../core/fusion/mask.ts';
import { decodeImage, encodeJpeg, flipRgb, type RgbImage } from '../../core/image/codec.ts';
import type { BodyModels } from '../../core/pose/body-models.ts';
import { drawSkeleton } from '../../core/pose/draw.ts';
import { findPeople } from '../../core/pose/person-mask.ts';
import { poseFromPhoto, poseImageFor } from '../../core/pose/pose.ts';
import { isSkeletonImage } from '../../core/pose/skeleton.ts';
import { BODY, FACES, iou, keypointTruth, loadBody, personPolygon, photo } from './helpers.ts';

let body: BodyModels;
beforeAll(async () => {
  body = await loadBody();
});
afterAll(async () => {
  await body?.dispose();
});

/** Per visible keypoint: distance to the marked point as a share of the person's height. */
async function errors(name: string, img?: RgbImage): Promise<number[]> {
  const t = keypointTruth()[name];
  const image = img ?? (await photo(`${BODY}/${t.file}`));
  const people = await body.detectPeople(image);
  expect(people.length).toBeGreaterThanOrEqual(1);
  const k = people[0].keypoints;
  return t.keypoints.flatMap((m, i) => (m ? [Math.hypot(k[i][0] - m[0], k[i][1] - m[1]) / t.height] : []));
}

describe('body keypoints on hand-marked photos', () => {
  it('messi5.jpg (full body, kicking): every marked keypoint within 5% of the height', async () => {
    const e = await errors('messi5.jpg');
    expect(e).toHaveLength(15);
    expect(Math.max(...e)).toBeLessThanOrEqual(0.05);
  });

  it('basketball.jpg (full body, standing, 401 px tall, grey): every marked keypoint within 5% of the height', async () => {
    const e = await errors('basketball.jpg');
    expect(e).toHaveLength(16);
    expect(Math.max(...e)).toBeLessThanOrEqual(0.05);
  });

  it('standing.png, a hard case beyond the target (144 px tall, knees at a skirt hem): knees within 6.5%, the rest within 5%', async () => {
    // Not one of the two target photos: kept because it is small and low in detail. Its knees
    // (COCO 13, 14) are hidden at the hem of a knee-length skirt and marked below it (README).
    const e = await errors('standing.png');
    expect(e).toHaveLength(15);
    const knees = [e[11], e[12]];
    const rest = e.filter((_, i) => i !== 11 && i !== 12);
    expect(Math.max(...rest)).toBeLessThanOrEqual(0.05);
    expect(Math.max(...knees)).toBeLessThanOrEqual(0.065);
    const sorted = [...e].sort((a, b) => a - b);
    expect(sorted[sorted.length >> 1]).toBeLessThanOrEqual(0.03);
  });

  it('finds the same joints in a recompressed, mirrored photo (left and right swap)', async () => {
    const m = await photo(`${FACES}/messi5.jpg`);
    const mirrored = await decodeImage(await encodeJpeg(flipRgb(m), { quality: 60 }));
    const [a] = await body.detectPeople(m);
    const [b] = await body.detectPeople(mirrored);
    const swap = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15];
    const height = keypointTruth()['messi5.jpg'].height;
    for (const i of [0, 5, 6, 11, 12, 13, 14]) {
      const p = a.keypoints[i];
      const q = b.keypoints[swap[i]];
      expect(Math.hypot(p[0] - (m.width - q[0]), p[1] - q[1]) / height, `keypoint ${i}`).toBeLessThan(0.05);
    }
  });

  it('finds several people in a group photo, best first, each with 18 OpenPose points', async () => {
    const people = await poseFromPhoto(body, await photo(`${FACES}/sample4.jpg`));
    expect(people.length).toBeGreaterThanOrEqual(3);
    for (const p of people) expect(p.keypoints).toHaveLength(18);
    for (let i = 1; i < people.length; i++) expect(people[i].score).toBeLessThanOrEqual(people[i - 1].score);
  });
});

describe('person mask', () => {
  it('matches the hand-drawn outline of messi5.jpg with IoU >= 0.85', async () => {
    const img = await photo(`${FACES}/messi5.jpg`);
    const found = await findPeople(body, img);
    const truth = fillPolygon(personPolygon(), img.width, img.height);
    expect(iou(found.mask, truth)).toBeGreaterThanOrEqual(0.85);
  });
});

describe('pose images', () => {
  it('turns a photo of a person into an OpenPose skeleton at the requested size', async () => {
    const img = await photo(`${FACES}/messi5.jpg`);
    const r = await poseImageFor(body, img, 512, 320);
    expect(r.source).toBe('photo');
    expect([r.image.width, r.image.height]).toEqual([512, 320]);
    expect(isSkeletonImage(r.image)).toBe(true);
    expect(r.people[0].keypoints.filter((k) => k[2] > 0).length).toBeGreaterThanOrEqual(14);
  });

  it('uses a skeleton image as it is, and refuses a photo without a person', async () => {
    const img = await photo(`${FACES}/messi5.jpg`);
    const people = await poseFromPhoto(body, img);
    const sk = drawSkeleton(people, img.width, img.height);
    const r = await poseImageFor(body, sk, img.width, img.height);
    expect(r.source).toBe('skeleton');
    expect(r.image).toBe(sk);
    const empty: RgbImage = { width: 200, height: 150, data: new Uint8Array(200 * 150 * 3).fill(200) };
    const e = await poseImageFor(body, empty, 200, 150).catch((x) => x);
    expect(e.code).toBe('no_person');
  });
});
