/**
 * FaceChain's post-processing of generated candidates: fuse the user's template face into each
 * candidate's main face, keep candidates with exactly one face of the right size, rank by
 * identity cosine against the template face and return the top N with their scores.
 */

import { throwIfAborted } from '../../base/errors.ts';
import { log } from '../../base/log.ts';
import { config } from '../config.ts';
import type { ImageAnalysis } from '../face/index.ts';
import { fusionInput } from '../fusion/faces.ts';
import { type FaceFuser, type FaceInImage, type FuseOptions, LandmarkFuser } from '../fusion/fuser.ts';
import type { RgbImage } from '../fusion/raster.ts';
import type { LikenessAnalyzer } from './likeness.ts';
import {
  type Kept,
  type RankOptions,
  type Rejected,
  selectCandidates,
  validateRankOptions,
} from './select.ts';

const logger = log('rank');

export interface PostProcessOptions extends RankOptions {
  /** Fuse the template face into each candidate first (FaceChain's default: on). */
  fuse?: boolean;
  fuseOptions?: FuseOptions;
  signal?: AbortSignal;
}

export interface RankedImage extends Kept {
  image: RgbImage;
}

export interface PostProcessResult {
  /** Best first, with likeness scores (cosine, -1..1). */
  results: RankedImage[];
  rejected: Rejected[];
}

/**
 * `template` is the user's template face in its photo; `templateEmbedding` its L2-normalised
 * embedding. Candidates are upright RGB images (the generator's output).
 */
export async function postProcess(
  deps: { analyzer: LikenessAnalyzer; fuser?: FaceFuser },
  template: FaceInImage,
  templateEmbedding: Float32Array,
  candidates: readonly RgbImage[],
  opts: PostProcessOptions = {},
): Promise<PostProcessResult> {
  const o = validateRankOptions({
    minFace: opts.minFace ?? config().FACECHAIN_RANK_MIN_FACE,
    maxFace: opts.maxFace ?? config().FACECHAIN_RANK_MAX_FACE,
    topN: opts.topN,
  });
  const fuser = (opts.fuse ?? true) ? (deps.fuser ?? new LandmarkFuser()) : undefined;
  const t0 = performance.now();
  const images: RgbImage[] = [];
  const analyses: ImageAnalysis[] = [];
  for (const candidate of candidates) {
    throwIfAborted(opts.signal);
    let image = candidate;
    const analyse = (img: RgbImage) =>
      deps.analyzer.analyzeRgb(img, { embedding: true, orientation: false, signal: opts.signal });
    let analysis = await analyse(image);
    if (fuser && analysis.faces.length > 0) {
      image = await fuser.fuse(template, fusionInput(image, analysis.faces[0]), {
        ...opts.fuseOptions,
        signal: opts.signal,
      });
      // Filter and rank on what the user will get: the fused image.
      analysis = await analyse(image);
    }
    images.push(image);
    analyses.push(analysis);
  }
  const ranking = selectCandidates(
    analyses.map((a) => a.faces),
    templateEmbedding,
    o,
  );
  // Counts, reasons and scores only: never images or embeddings.
  logger.debug(
    {
      candidates: candidates.length,
      kept: ranking.kept.map((k) => Math.round(k.score * 1000) / 1000),
      rejected: ranking.rejected.map((r) => r.reason),
      fused: Boolean(fuser),
      ms: Math.round(performance.now() - t0),
    },
    'post-processed candidates',
  );
  return {
    results: ranking.kept.map((k) => ({ ...k, image: images[k.index] })),
    rejected: ranking.rejected,
  };
}
