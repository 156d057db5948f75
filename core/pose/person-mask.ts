/**
 * People in a photo with their mask: MoveNet finds them, selfie segmentation outlines them (in a
 * crop around each person), and the checks try-on needs: is there a person, is there only one.
 */

import { InputError, throwIfAborted } from '../../base/errors.ts';
import type { Box } from '../face/types.ts';
import type { Mask } from '../fusion/raster.ts';
import type { RgbImage } from '../image/codec.ts';
import type { CocoPerson } from './body-models.ts';
import { type BodyPose, cocoToOpenPose } from './keypoints.ts';
import { binarize } from './mask-ops.ts';
import { POSE_KEYPOINT_MIN_SCORE } from './pose.ts';

/** What person analysis needs (BodyModels satisfies it). */
export interface PersonModels {
  detectPeople(img: RgbImage, opts?: { signal?: AbortSignal }): Promise<CocoPerson[]>;
  segmentPeople(img: RgbImage, opts?: { boxes?: readonly Box[]; signal?: AbortSignal }): Promise<Mask>;
}

export const PEOPLE_RULES = {
  /** A person counts (for "several people") when scoring at least this... */
  minScore: 0.3,
  /** ...and at least this tall relative to the tallest person found (background passers-by do not count). */
  minRelativeHeight: 0.4,
} as const;

export interface PeopleInPhoto {
  /** MoveNet's people (17 COCO points each), best first. */
  coco: CocoPerson[];
  /** The same people in OpenPose's 18 points. */
  people: BodyPose[];
  /** Person probability per pixel, 0..1. */
  probability: Mask;
  /** Binary person mask (probability ≥ 0.5; segmentPeople has filled small enclosed holes). */
  mask: Mask;
}

/** The people who count: confident, and not much smaller than the main person. */
export function mainPeople<T extends { box: Box; score: number }>(people: readonly T[]): T[] {
  const sure = people.filter((p) => p.score >= PEOPLE_RULES.minScore);
  const tallest = Math.max(0, ...sure.map((p) => p.box[3] - p.box[1]));
  return sure.filter((p) => p.box[3] - p.box[1] >= tallest * PEOPLE_RULES.minRelativeHeight);
}

export async function findPeople(
  models: PersonModels,
  img: RgbImage,
  opts: { signal?: AbortSignal } = {},
): Promise<PeopleInPhoto> {
  const coco = await models.detectPeople(img, { signal: opts.signal });
  throwIfAborted(opts.signal);
  const probability = await models.segmentPeople(img, { boxes: coco.map((p) => p.box), signal: opts.signal });
  const mask = binarize(probability);
  return {
    coco,
    people: coco.map((p) => ({
      box: p.box,
      score: p.score,
      keypoints: cocoToOpenPose(p.keypoints, POSE_KEYPOINT_MIN_SCORE),
    })),
    probability,
    mask,
  };
}

/** The one person of a photo, or `no_person` / `several_people`. */
export function onePerson(found: PeopleInPhoto, what: string): { coco: CocoPerson; pose: BodyPose } {
  const main = mainPeople(found.coco);
  if (!main.length) {
    throw new InputError(
      'no_person',
      `No person was found in the ${what}. Send a photo where one whole person is clearly visible.`,
    );
  }
  if (main.length > 1) {
    throw new InputError(
      'several_people',
      `The ${what} shows ${main.length} people; send a photo of one person.`,
      { context: { people: main.length } },
    );
  }
  const i = found.coco.indexOf(main[0]);
  return { coco: main[0], pose: found.people[i] };
}
