/**
 * FaceAnalyzer: bytes in, faces out. Pipeline per image:
 *   decode+validate (codec) -> orientation (EXIF by the codec, then a detector search over the
 *   four rotations) -> detection (whole image + tiles) -> 68 landmarks (with roll re-pass) ->
 *   pose, eyes, sharpness, age, gender -> embedding on the 5-point aligned 112x112 crop.
 * An instance holds only its loaded ONNX sessions, so each worker thread can own one.
 */

import { throwIfAborted } from '../../base/errors.ts';
import type { ModelStore } from '../../models/store.ts';
import { decodeImage, type RgbImage } from '../image/codec.ts';
import { type Affine, composeAffine, Pyramid, PyramidPool, warpAffine } from '../image/warp.ts';
import { recognitionAffine } from './align.ts';
import { laplacianVariance, predictAgeGender, predictEyes, predictPose } from './attributes.ts';
import {
  type DetectOptions,
  type DetectorScratch,
  detectFaces,
  detectorScratch,
  type RawRun,
  type RotationEvidence,
  rotationAffine,
  rotationEvidence,
} from './detect.ts';
import { embedAligned } from './embedding.ts';
import { LandmarkLock, predictLandmarks, rollAngle } from './landmarks.ts';
import { disposeFaceSessions, type FaceSessions, loadFaceSessions } from './models.ts';
import type { Face, ImageAnalysis } from './types.ts';

export interface AnalyzeOptions extends DetectOptions {
  /** Compute the 512-d identity embedding for every face (default false). */
  embedding?: boolean;
  signal?: AbortSignal;
  /** Search the four 90-degree rotations for upright faces (default true). */
  orientation?: boolean;
}

/** An analysis plus what is needed to cut more crops from the same pixels. */
export interface DetailedAnalysis {
  analysis: ImageAnalysis;
  /** The decoded (EXIF-upright) pixels with their pyramid. */
  pyramid: Pyramid;
  /** Affine from decoded pixels to the upright frame all coordinates are given in. */
  frame: Affine;
}

/**
 * Orientation: for each of the four rotations, the whole-image detector pass gives a firing
 * mass and a strongest box; the landmark model is then asked whether it locks onto a face in
 * that box (landmarkInstability). Evidence = mass / instability. The detector alone is not
 * enough: on close-ups it fires about as strongly on a face turned by 90 degrees. Measured on
 * the fixtures and their 512 crops (12 images x 4 rotations): instability 0.012-0.11 upright
 * (the high end a profile) and 0.05-0.17 turned; the upright rotation's evidence beats every
 * other by 2.3x or more.
 */
const ROTATION_MARGIN = 1.5;
/**
 * Below this firing mass the whole-image pass saw no face at any rotation (faces too small to
 * see at that scale, or none): keep the photo as decoded rather than follow noise.
 */
const ROTATION_MIN_MASS = 3;
/** A chosen rotation must also yield a confident face, or the photo is taken as decoded. */
const ROTATION_CONFIRM_SCORE = 0.9;
/**
 * Early stop: a confident face at 0 degrees whose landmarks lock on this firmly (LandmarkLock's
 * quick measure) is upright, and the other three rotations are not searched. Measured on the
 * fixtures, their 512 crops, a close-up and the bench photos: frontal upright faces 0.007-0.033,
 * every turned view the detector fired on 0.049 or more (30 views); profiles (0.07) and anything
 * else above the limit go through the full search, which reuses these landmark runs.
 */
const UPRIGHT_LOCK = 0.035;

/** Buffers one analyzer reuses from photo to photo (pyramid levels, detector inputs). */
interface Reused {
  pool: PyramidPool;
  scratch: DetectorScratch;
}

/** New buffers, for a pyramid that outlives its call or a second call in flight. */
function freshBuffers(): Reused {
  return { pool: new PyramidPool(), scratch: detectorScratch() };
}

export class FaceAnalyzer {
  /** Buffers for analyze()/analyzeRgb(); undefined while an analysis holds them. */
  private reused: Reused | undefined = freshBuffers();

  private constructor(private readonly s: FaceSessions) {}

  static async load(store: ModelStore, opts: { threads?: number } = {}): Promise<FaceAnalyzer> {
    return new FaceAnalyzer(await loadFaceSessions(store, opts.threads));
  }

  async analyze(bytes: Uint8Array, opts: AnalyzeOptions = {}): Promise<ImageAnalysis> {
    const img = await decodeImage(bytes);
    return this.analyzeRgb(img, opts);
  }

  async analyzeRgb(img: RgbImage, opts: AnalyzeOptions = {}): Promise<ImageAnalysis> {
    // The pyramid does not outlive this call, so its levels can live in reused buffers; a
    // concurrent call on the same analyzer (rare: one analyzer per thread) allocates its own.
    const reused = this.reused;
    this.reused = undefined;
    try {
      return (await this.run(img, opts, reused ?? freshBuffers())).analysis;
    } finally {
      if (reused) this.reused = reused;
    }
  }

  /** The analysis with its pyramid, which the caller keeps: built in fresh buffers. */
  async analyzeDetailed(img: RgbImage, opts: AnalyzeOptions = {}): Promise<DetailedAnalysis> {
    return this.run(img, opts, freshBuffers());
  }

  private async run(img: RgbImage, opts: AnalyzeOptions, reused: Reused): Promise<DetailedAnalysis> {
    const { signal } = opts;
    throwIfAborted(signal);
    const pyramid = new Pyramid(img, reused.pool);
    const scratch = reused.scratch;
    const oriented =
      opts.orientation === false ? undefined : await this.chooseRotation(pyramid, scratch, signal);
    let rotation = oriented?.rotation ?? 0;
    let frame = rotationAffine(img.width, img.height, rotation);
    let width = rotation % 180 ? img.height : img.width;
    let height = rotation % 180 ? img.width : img.height;
    let dets = await detectFaces(this.s['face-detect'], pyramid, frame, width, height, {
      ...opts,
      firstPass: oriented?.firstPass,
      scratch,
    });
    if (rotation !== 0 && !dets.some((d) => d.score >= ROTATION_CONFIRM_SCORE)) {
      rotation = 0;
      frame = rotationAffine(img.width, img.height, 0);
      width = img.width;
      height = img.height;
      dets = await detectFaces(this.s['face-detect'], pyramid, frame, width, height, {
        ...opts,
        firstPass: oriented?.unrotated,
        scratch,
      });
    }
    const faces: Face[] = [];
    for (const d of dets) {
      throwIfAborted(signal);
      faces.push(await this.describe(pyramid, frame, d.box, d.score, opts.embedding ?? false));
    }
    faces.sort((a, b) => b.size - a.size);
    return { analysis: { width, height, rotation, faces }, pyramid, frame };
  }

  private async chooseRotation(
    pyr: Pyramid,
    scratch: DetectorScratch,
    signal?: AbortSignal,
  ): Promise<{ rotation: 0 | 90 | 180 | 270; firstPass: RawRun; unrotated: RawRun }> {
    const detector = this.s['face-detect'];
    const upright = await rotationEvidence(detector, pyr, 0, signal, scratch);
    const pick = (rotation: 0 | 90 | 180 | 270, found?: RotationEvidence) => ({
      rotation,
      firstPass: (found ?? upright).run,
      unrotated: upright.run,
    });
    const lock = upright.best
      ? new LandmarkLock(
          this.s['face-landmark68'],
          pyr,
          rotationAffine(pyr.width, pyr.height, 0),
          upright.best.box,
        )
      : undefined;
    if (lock && upright.best!.score >= ROTATION_CONFIRM_SCORE && (await lock.quick()) < UPRIGHT_LOCK)
      return pick(0);
    const found = { 0: upright } as Record<0 | 90 | 180 | 270, RotationEvidence>;
    for (const r of [90, 180, 270] as const)
      found[r] = await rotationEvidence(detector, pyr, r, signal, scratch);
    // Nothing else fires enough to compete: skip the landmark checks.
    if (([90, 180, 270] as const).every((r) => found[r].mass < ROTATION_MIN_MASS)) return pick(0);
    const ev = { 0: 0, 90: 0, 180: 0, 270: 0 };
    for (const r of [0, 90, 180, 270] as const) {
      const { mass, best } = found[r];
      if (!best || (r !== 0 && mass < ROTATION_MIN_MASS)) continue;
      const frame = rotationAffine(pyr.width, pyr.height, r);
      const rLock = r === 0 ? lock! : new LandmarkLock(this.s['face-landmark68'], pyr, frame, best.box);
      ev[r] = mass / Math.max(await rLock.instability(), 0.01);
    }
    let best: 0 | 90 | 180 | 270 = 0;
    for (const r of [90, 180, 270] as const) if (ev[r] > ev[best]) best = r;
    return best !== 0 && ev[best] > ev[0] * ROTATION_MARGIN ? pick(best, found[best]) : pick(0);
  }

  private async describe(
    pyr: Pyramid,
    frame: Affine,
    box: Face['box'],
    score: number,
    withEmbedding: boolean,
  ): Promise<Face> {
    const s = this.s;
    const landmarks = await predictLandmarks(s['face-landmark68'], pyr, frame, box);
    const roll = rollAngle(landmarks);
    const aligned = warpAffine(pyr, composeAffine(recognitionAffine(landmarks), frame), 112, 112);
    const grey = new Uint8Array(112 * 112);
    for (let i = 0; i < grey.length; i++)
      grey[i] = Math.round(
        0.299 * aligned[i * 3]! + 0.587 * aligned[i * 3 + 1]! + 0.114 * aligned[i * 3 + 2]!,
      );
    const [pose, eyes, ag] = [
      await predictPose(s['face-pose'], pyr, frame, box),
      await predictEyes(s['face-eye'], pyr, frame, landmarks, roll),
      await predictAgeGender(s['face-age'], s['face-gender'], pyr, frame, box),
    ];
    const male = ag.maleScore >= 0.5;
    const face: Face = {
      box,
      score,
      landmarks,
      pose,
      eyesOpen: eyes[0] >= 0.5 && eyes[1] >= 0.5,
      eyeOpenScores: eyes,
      sharpness: laplacianVariance(grey, 112),
      size: Math.max(box[2] - box[0], box[3] - box[1]),
      age: ag.age,
      gender: male ? 'male' : 'female',
      genderScore: male ? ag.maleScore : 1 - ag.maleScore,
    };
    if (withEmbedding) face.embedding = await embedAligned(s['face-embedding'], aligned);
    return face;
  }

  async dispose(): Promise<void> {
    await disposeFaceSessions(this.s);
  }
}
