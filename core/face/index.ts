/** Face analysis: the public surface other modules code against. */
export {
  alignFace,
  FACECHAIN_FACE_CENTRE_Y,
  FACECHAIN_FACE_WIDTH,
  facechainCrop,
  facechainCropAffine,
  REFERENCE_5,
  recognitionAffine,
} from './align.ts';
export { type AnalyzeOptions, type DetailedAnalysis, FaceAnalyzer } from './analyzer.ts';
export { defaultMinFaceSize, iou } from './detect.ts';
export { cosine, l2normalize, meanEmbedding } from './embedding.ts';
export { eyeCentres, fivePoints, rollAngle, squareCrop } from './landmarks.ts';
export type { Box, Face, HeadPose, ImageAnalysis } from './types.ts';
