/**
 * OpenPose skeleton images: the colour table, limb list and stick widths the OpenPose
 * ControlNet was trained on (ControlNet's annotator / controlnet_aux draw_bodypose), checked
 * value by value and on drawn pixels; COCO -> OpenPose keypoints; telling skeletons from photos.
 */
import { describe, expect, it } from 'vitest';
import { decodeImage, encodeJpeg, type RgbImage } from '../../core/image/codec.ts';
import {
  DRAWN_LIMBS,
  drawSkeleton,
  JOINT_RADIUS,
  LIMB_DIM,
  limbColor,
  OPENPOSE_COLORS,
  OPENPOSE_LIMBS,
  STICK_WIDTH,
} from '../../core/pose/draw.ts';
import { cocoToOpenPose, type Keypoint, OPENPOSE_KEYPOINTS } from '../../core/pose/keypoints.ts';
import { isSkeletonImage, skeletonEvidence } from '../../core/pose/skeleton.ts';
import { FACES, photo, px } from './helpers.ts';

/** A standing person, 18 OpenPose points, in a 256 × 384 frame. */
function standing(dx = 0): Keypoint[] {
  const p: [number, number][] = [
    [128, 60],
    [128, 100],
    [96, 100],
    [84, 150],
    [80, 200],
    [160, 100],
    [172, 150],
    [176, 200],
    [108, 200],
    [106, 270],
    [104, 340],
    [148, 200],
    [150, 270],
    [152, 340],
    [120, 52],
    [136, 52],
    [112, 58],
    [144, 58],
  ];
  return p.map(([x, y]) => [x + dx, y, 0.9]);
}

describe('OpenPose drawing tables', () => {
  it('has exactly the annotator colour table (RGB), limb list and sizes', () => {
    expect(OPENPOSE_COLORS).toEqual([
      [255, 0, 0],
      [255, 85, 0],
      [255, 170, 0],
      [255, 255, 0],
      [170, 255, 0],
      [85, 255, 0],
      [0, 255, 0],
      [0, 255, 85],
      [0, 255, 170],
      [0, 255, 255],
      [0, 170, 255],
      [0, 85, 255],
      [0, 0, 255],
      [85, 0, 255],
      [170, 0, 255],
      [255, 0, 255],
      [255, 0, 170],
      [255, 0, 85],
    ]);
    expect(OPENPOSE_LIMBS).toEqual([
      [2, 3],
      [2, 6],
      [3, 4],
      [4, 5],
      [6, 7],
      [7, 8],
      [2, 9],
      [9, 10],
      [10, 11],
      [2, 12],
      [12, 13],
      [13, 14],
      [2, 1],
      [1, 15],
      [15, 17],
      [1, 16],
      [16, 18],
      [3, 17],
      [6, 18],
    ]);
    expect([DRAWN_LIMBS, STICK_WIDTH, JOINT_RADIUS, LIMB_DIM]).toEqual([17, 4, 4, 0.6]);
    // Limbs are stored dimmed with truncation: 255 -> 153, 170 -> 102, 85 -> 51.
    expect(limbColor(0)).toEqual([153, 0, 0]);
    expect(limbColor(1)).toEqual([153, 51, 0]);
    expect(limbColor(2)).toEqual([153, 102, 0]);
    expect(limbColor(16)).toEqual([153, 0, 102]);
    expect(OPENPOSE_KEYPOINTS).toEqual([
      'nose',
      'neck',
      'right_shoulder',
      'right_elbow',
      'right_wrist',
      'left_shoulder',
      'left_elbow',
      'left_wrist',
      'right_hip',
      'right_knee',
      'right_ankle',
      'left_hip',
      'left_knee',
      'left_ankle',
      'right_eye',
      'left_eye',
      'right_ear',
      'left_ear',
    ]);
  });

  it('draws joints in full colour and limbs dimmed, on black, stick about 9 px wide', () => {
    const k = standing();
    const img = drawSkeleton([{ keypoints: k }], 256, 384);
    // Every joint centre has its own colour.
    for (let i = 0; i < 18; i++)
      expect(px(img, Math.trunc(k[i][0]), Math.trunc(k[i][1]))).toEqual([...OPENPOSE_COLORS[i]]);
    // Limb midpoints away from joints: limb i's dimmed colour. Right upper arm (limb 2: 3-4),
    // left shin (limb 11: 13-14), neck-right hip (limb 6: 2-9).
    for (const i of [2, 3, 4, 5, 7, 8, 10, 11]) {
      const [a, b] = OPENPOSE_LIMBS[i];
      const x = Math.trunc((k[a - 1][0] + k[b - 1][0]) / 2);
      const y = Math.trunc((k[a - 1][1] + k[b - 1][1]) / 2);
      expect(px(img, x, y), `limb ${i}`).toEqual(limbColor(i));
    }
    // Stick width: across the vertical shin (x = 104 ± …, y = 305), coloured run of 8-9 px.
    let run = 0;
    for (let x = 90; x < 120; x++) if (px(img, x, 305).some((v) => v > 0)) run++;
    expect(run).toBeGreaterThanOrEqual(2 * STICK_WIDTH);
    expect(run).toBeLessThanOrEqual(2 * STICK_WIDTH + 1);
    // Background stays black, and only table colours occur.
    expect(px(img, 5, 5)).toEqual([0, 0, 0]);
    const allowed = new Set([
      '0,0,0',
      ...OPENPOSE_COLORS.map((c) => c.join(',')),
      ...OPENPOSE_COLORS.map((_, i) => limbColor(i).join(',')),
    ]);
    let other = 0;
    for (let i = 0; i < img.data.length; i += 3)
      if (!allowed.has(`${img.data[i]},${img.data[i + 1]},${img.data[i + 2]}`)) other++;
    expect(other).toBe(0);
  });

  it('skips limbs and joints that were not found, and scales points to the output size', () => {
    const k = standing();
    k[4] = [k[4][0], k[4][1], 0]; // right wrist missing
    const img = drawSkeleton([{ keypoints: k }], 256, 384);
    expect(px(img, 80, 200)).toEqual([0, 0, 0]);
    const mid = [Math.trunc((84 + 80) / 2), Math.trunc((150 + 200) / 2)];
    expect(px(img, mid[0], mid[1])).toEqual([0, 0, 0]);
    // Half-size output from full-size points: joints land at half the coordinates.
    const half = drawSkeleton([{ keypoints: standing() }], 128, 192, { width: 256, height: 384 });
    expect(px(half, 64, 30)).toEqual([...OPENPOSE_COLORS[0]]);
  });

  it('makes the neck from both shoulders only, and drops weak points', () => {
    const coco: Keypoint[] = Array.from({ length: 17 }, (_, i) => [i * 10, i * 5, 0.9]);
    const op = cocoToOpenPose(coco, 0.3);
    expect(op).toHaveLength(18);
    expect(op[1]).toEqual([(50 + 60) / 2, (25 + 30) / 2, 0.9]);
    expect(op[2]).toEqual(coco[6]); // right shoulder
    expect(op[5]).toEqual(coco[5]); // left shoulder
    expect(op[14]).toEqual(coco[2]); // right eye
    expect(op[17]).toEqual(coco[3]); // left ear
    coco[6] = [60, 30, 0.1];
    const weak = cocoToOpenPose(coco, 0.3);
    expect(weak[1][2]).toBe(0);
    expect(weak[2][2]).toBe(0);
  });
});

describe('isSkeletonImage', () => {
  it('accepts drawn skeletons, also after JPEG recompression, and several people', async () => {
    const one = drawSkeleton([{ keypoints: standing() }], 256, 384);
    const two = drawSkeleton([{ keypoints: standing(-60) }, { keypoints: standing(60) }], 256, 384);
    expect(isSkeletonImage(one)).toBe(true);
    expect(isSkeletonImage(two)).toBe(true);
    const jpeg = await decodeImage(await encodeJpeg(one, { quality: 70 }));
    expect(skeletonEvidence(jpeg)).toMatchObject({ skeleton: true });
  });

  it('refuses photos, a black frame and a single red stroke on black', async () => {
    for (const f of ['messi5.jpg', 'astronaut.png', 'sample2.jpg', 'sample4.jpg'])
      expect(isSkeletonImage(await photo(`${FACES}/${f}`)), f).toBe(false);
    const black: RgbImage = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3) };
    expect(isSkeletonImage(black)).toBe(false);
    const stroke = { ...black, data: new Uint8Array(black.data) };
    for (let x = 10; x < 50; x++)
      for (let y = 30; y < 34; y++) stroke.data.set([255, 0, 0], (y * 64 + x) * 3);
    expect(isSkeletonImage(stroke)).toBe(false);
    // A night photo: mostly dark, but its light parts are not skeleton colours.
    const m = await photo(`${FACES}/messi5.jpg`);
    const night = { ...m, data: m.data.map((v) => Math.round(v * 0.25)) };
    expect(isSkeletonImage(night)).toBe(false);
  });
});
