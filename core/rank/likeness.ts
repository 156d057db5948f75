/**
 * Likeness of a result to the user: the identity cosine between the face found at a given place
 * in an image and the user's embedding. Used to score fused and template results.
 */
import { cosine, type Face, type ImageAnalysis, iou } from '../face/index.ts';
import type { RgbImage } from '../fusion/raster.ts';

export interface LikenessAnalyzer {
  analyzeRgb(
    img: RgbImage,
    opts?: { embedding?: boolean; orientation?: boolean; signal?: AbortSignal },
  ): Promise<ImageAnalysis>;
}

export interface Likeness {
  /** Cosine similarity to the reference embedding, or undefined when no face was found there. */
  score?: number;
  face?: Face;
}

/** The face in `img` overlapping `box` most (IoU ≥ 0.3), and its cosine to `reference`. */
export async function likenessAt(
  analyzer: LikenessAnalyzer,
  img: RgbImage,
  box: Face['box'],
  reference: Float32Array,
  signal?: AbortSignal,
): Promise<Likeness> {
  const a = await analyzer.analyzeRgb(img, { embedding: true, orientation: false, signal });
  let best: Face | undefined;
  let bestOverlap = 0.3;
  for (const f of a.faces) {
    const o = iou(f.box, box);
    if (o >= bestOverlap) {
      bestOverlap = o;
      best = f;
    }
  }
  if (!best?.embedding) return {};
  return { score: cosine(best.embedding, reference), face: best };
}
