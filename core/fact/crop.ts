/**
 * FACT's face input: the 5-point aligned 112×112 crop (the same alignment as the recognition
 * embedding, core/face/align.ts), cut from a face analysis.
 */

import { recognitionAffine } from '../face/align.ts';
import type { DetailedAnalysis } from '../face/analyzer.ts';
import type { Face } from '../face/types.ts';
import { composeAffine, warpAffine } from '../image/warp.ts';
import { FACE_SIZE } from './encoder.ts';

/** RGB (HWC) 112×112 crop of `face`, aligned to the reference eyes, nose and mouth corners. */
export function alignedFaceCrop(detailed: DetailedAnalysis, face: Face): Uint8Array {
  return warpAffine(
    detailed.pyramid,
    composeAffine(recognitionAffine(face.landmarks), detailed.frame),
    FACE_SIZE,
    FACE_SIZE,
  );
}
