/**
 * FaceChain's post-processing rule, as a pure function over face analyses: keep candidates with
 * exactly one face whose larger box side is strictly between the bounds (120 and 300 px for
 * 512×512 results), score each by the cosine of its identity embedding against the template
 * face's, best first, and return the top N with their scores. Rejections keep their reason so a
 * caller can say why a batch came back short. No fallback when nothing survives (as FaceChain).
 */
import { InputError } from '../../base/errors.ts';

/** The part of a face analysis this rule reads. */
export interface RankableFace {
  box: readonly [number, number, number, number];
  /** L2-normalised identity embedding. */
  embedding?: Float32Array;
}

export interface FaceBounds {
  /** Exclusive lower bound on the face's larger box side, in pixels. */
  minFace: number;
  /** Exclusive upper bound. */
  maxFace: number;
}

export interface RankOptions extends Partial<FaceBounds> {
  /** How many to return (FaceChain returns at most 6). */
  topN?: number;
}

export const RANK_DEFAULTS = { minFace: 120, maxFace: 300, topN: 6 } as const;

export type RejectReason = 'no_face' | 'several_faces' | 'face_too_small' | 'face_too_large';

export interface Kept {
  /** Index into the candidates passed in. */
  index: number;
  /** Cosine similarity to the template face, -1..1 (0 when the face had no embedding). */
  score: number;
  faceSize: number;
}

export interface Rejected {
  index: number;
  reason: RejectReason;
  faces: number;
  faceSize?: number;
}

export interface Ranking {
  /** Best first, at most topN. */
  kept: Kept[];
  /** Passed the filter but fell below the top N. */
  surplus: Kept[];
  rejected: Rejected[];
}

export function cosineSimilarity(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) {
    throw new InputError('embedding_mismatch', `Embeddings differ in length (${a.length} vs ${b.length}).`);
  }
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

export function faceSize(box: RankableFace['box']): number {
  return Math.max(box[2] - box[0], box[3] - box[1]);
}

/** Why a candidate fails the one-face-of-the-right-size rule, or undefined when it passes. */
export function checkCandidate(
  faces: readonly RankableFace[],
  bounds: FaceBounds,
): Omit<Rejected, 'index'> | undefined {
  if (faces.length === 0) return { reason: 'no_face', faces: 0 };
  if (faces.length > 1) return { reason: 'several_faces', faces: faces.length };
  const size = faceSize(faces[0].box);
  if (!(size > bounds.minFace)) return { reason: 'face_too_small', faces: 1, faceSize: size };
  if (!(size < bounds.maxFace)) return { reason: 'face_too_large', faces: 1, faceSize: size };
  return undefined;
}

export function validateRankOptions(opts: RankOptions): Required<RankOptions> {
  // Undefined means "use the default", not "no value".
  const o = {
    minFace: opts.minFace ?? RANK_DEFAULTS.minFace,
    maxFace: opts.maxFace ?? RANK_DEFAULTS.maxFace,
    topN: opts.topN ?? RANK_DEFAULTS.topN,
  };
  if (!(o.minFace >= 0) || !(o.maxFace > o.minFace)) {
    throw new InputError(
      'bad_face_bounds',
      `Face size bounds must satisfy 0 <= min < max (got min ${o.minFace}, max ${o.maxFace}).`,
    );
  }
  if (!Number.isInteger(o.topN) || o.topN < 1) {
    throw new InputError(
      'bad_top_n',
      `The number of results to keep must be a whole number of at least 1 (got ${o.topN}).`,
    );
  }
  return o;
}

/** Filter and rank candidates given each one's detected faces. */
export function selectCandidates(
  candidates: readonly (readonly RankableFace[])[],
  template: Float32Array,
  opts: RankOptions = {},
): Ranking {
  const o = validateRankOptions(opts);
  const passed: Kept[] = [];
  const rejected: Rejected[] = [];
  candidates.forEach((faces, index) => {
    const why = checkCandidate(faces, o);
    if (why) {
      rejected.push({ index, ...why });
      return;
    }
    const face = faces[0];
    const score = face.embedding ? cosineSimilarity(face.embedding, template) : 0;
    passed.push({ index, score, faceSize: faceSize(face.box) });
  });
  // Stable: equal scores keep generation order.
  passed.sort((a, b) => b.score - a.score || a.index - b.index);
  return { kept: passed.slice(0, o.topN), surplus: passed.slice(o.topN), rejected };
}
