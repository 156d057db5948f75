/**
 * Pose from a photo: people's body keypoints in OpenPose's order and the OpenPose skeleton image
 * the pose ControlNet takes. A photo that already is a skeleton image is used as it is.
 */
import { InputError, throwIfAborted } from '../../base/errors.ts';
import { type RgbImage, resizeRgb } from '../image/codec.ts';
import type { CocoPerson } from './body-models.ts';
import { drawSkeleton } from './draw.ts';
import { type BodyPose, cocoToOpenPose } from './keypoints.ts';
import { isSkeletonImage } from './skeleton.ts';

export const POSE_KEYPOINT_MIN_SCORE = 0.3;

/** What pose extraction needs (BodyModels satisfies it). */
export interface PoseDetector {
  detectPeople(img: RgbImage, opts?: { signal?: AbortSignal }): Promise<CocoPerson[]>;
}

export interface PoseOptions {
  /** Keypoints scoring below this are left out of the skeleton (OpenPose draws only found points). */
  minKeypointScore?: number;
  signal?: AbortSignal;
}

/** Every person in the photo with 18 OpenPose keypoints (score 0 = not found), best first. */
export async function poseFromPhoto(
  models: PoseDetector,
  img: RgbImage,
  opts: PoseOptions = {},
): Promise<BodyPose[]> {
  const min = opts.minKeypointScore ?? POSE_KEYPOINT_MIN_SCORE;
  const people = await models.detectPeople(img, { signal: opts.signal });
  return people.map((p) => ({ box: p.box, score: p.score, keypoints: cocoToOpenPose(p.keypoints, min) }));
}

export interface PoseImage {
  /** The OpenPose skeleton at the requested size. */
  image: RgbImage;
  /** 'skeleton': the input already was one; 'photo': extracted from a photo of people. */
  source: 'skeleton' | 'photo';
  /** The people found (empty for a skeleton input). */
  people: BodyPose[];
}

/**
 * The pose ControlNet's input at width × height from whatever the user sent: a skeleton image is
 * resized as is; a photo gives its people's skeletons. A photo without a person is an InputError
 * (`no_person`), so a pose request never silently runs without its pose.
 */
export async function poseImageFor(
  models: PoseDetector,
  img: RgbImage,
  width: number,
  height: number,
  opts: PoseOptions = {},
): Promise<PoseImage> {
  if (isSkeletonImage(img)) {
    const image = img.width === width && img.height === height ? img : await resizeRgb(img, width, height);
    return { image, source: 'skeleton', people: [] };
  }
  const people = await poseFromPhoto(models, img, opts);
  throwIfAborted(opts.signal);
  if (!people.length) {
    throw new InputError(
      'no_person',
      'No person was found in the pose photo. Send a photo where a whole person is clearly visible, or an OpenPose skeleton image.',
    );
  }
  return { image: drawSkeleton(people, width, height, img), source: 'photo', people };
}
