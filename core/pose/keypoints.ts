/**
 * Body keypoints in OpenPose's 18-point order (what the OpenPose ControlNet was trained on),
 * made from the 17 COCO keypoints that pose models such as MoveNet give, plus a neck between the
 * shoulders as OpenPose has.
 */
import type { Box } from '../face/types.ts';

/** [x, y, score] in pixels of the photo; score 0 means the point was not found. */
export type Keypoint = [x: number, y: number, score: number];

export interface BodyPose {
  /** Person box [x1, y1, x2, y2] in pixels. */
  box: Box;
  /** Person score 0..1. */
  score: number;
  /** 18 points in OPENPOSE_KEYPOINTS order. */
  keypoints: Keypoint[];
}

export const COCO_KEYPOINTS = [
  'nose',
  'left_eye',
  'right_eye',
  'left_ear',
  'right_ear',
  'left_shoulder',
  'right_shoulder',
  'left_elbow',
  'right_elbow',
  'left_wrist',
  'right_wrist',
  'left_hip',
  'right_hip',
  'left_knee',
  'right_knee',
  'left_ankle',
  'right_ankle',
] as const;

export const OPENPOSE_KEYPOINTS = [
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
] as const;

export type OpenPoseName = (typeof OPENPOSE_KEYPOINTS)[number];

/** Index of an OpenPose point by name. */
export function op(name: OpenPoseName): number {
  return OPENPOSE_KEYPOINTS.indexOf(name);
}

/** For each OpenPose point, the COCO point it comes from (-1: the neck, made from the shoulders). */
export const OPENPOSE_FROM_COCO: readonly number[] = OPENPOSE_KEYPOINTS.map((n) =>
  n === 'neck' ? -1 : (COCO_KEYPOINTS as readonly string[]).indexOf(n),
);

/**
 * 17 COCO points -> 18 OpenPose points. Points under `minScore` get score 0 (not found), and the
 * neck exists only when both shoulders do (its score is the weaker shoulder's), as in OpenPose,
 * where a neck is never guessed from one shoulder.
 */
export function cocoToOpenPose(coco: readonly Keypoint[], minScore: number): Keypoint[] {
  if (coco.length !== 17) throw new Error(`expected 17 COCO keypoints, got ${coco.length}`);
  const keep = (k: Keypoint): Keypoint => (k[2] >= minScore ? [k[0], k[1], k[2]] : [k[0], k[1], 0]);
  return OPENPOSE_FROM_COCO.map((c) => {
    if (c >= 0) return keep(coco[c]);
    const l = coco[5];
    const r = coco[6];
    const s = Math.min(l[2], r[2]);
    return s >= minScore
      ? [(l[0] + r[0]) / 2, (l[1] + r[1]) / 2, s]
      : [(l[0] + r[0]) / 2, (l[1] + r[1]) / 2, 0];
  });
}

/** Whether a keypoint was found. */
export function found(k: Keypoint | undefined): k is Keypoint {
  return k !== undefined && k[2] > 0;
}
