/**
 * Bridges face analysis and fusion: picks faces the way FaceChain does (the user's largest face;
 * in a template, faces counted left to right) and turns an analysed face into fusion input.
 */

import { InputError } from '../../base/errors.ts';
import type { Face, ImageAnalysis } from '../face/index.ts';
import { type RgbImage, rotateRgb } from '../image/codec.ts';
import type { FaceInImage } from './fuser.ts';
import type { Point } from './raster.ts';

/**
 * Analysis gives continuous coordinates (pixel i spans [i, i+1)); fusion puts pixel centres on
 * integers. Shift by half a pixel so both agree.
 */
export function fusionInput(image: RgbImage, face: Face): FaceInImage {
  return { image, landmarks: face.landmarks.map(([x, y]) => [x - 0.5, y - 0.5] as Point) };
}

/** The pixels in the frame the analysis coordinates refer to (analysis may have turned the photo upright). */
export function uprightImage(decoded: RgbImage, analysis: ImageAnalysis): RgbImage {
  return rotateRgb(decoded, analysis.rotation);
}

/** Faces ordered left to right by the centre of their box (FaceChain's template order). */
export function facesLeftToRight(faces: readonly Face[]): Face[] {
  return [...faces].sort((a, b) => a.box[0] + a.box[2] - (b.box[0] + b.box[2]));
}

/**
 * The face at `index` (0 = leftmost), with an error that says how many there are. With
 * `largest`, only the N largest faces count (FaceChain-FACT keeps the N largest template faces,
 * then orders them left to right), so small faces in the background do not shift the index.
 */
export function pickFace(analysis: ImageAnalysis, index: number, what: string, largest?: number): Face {
  // analysis.faces is largest first.
  const pool = largest === undefined ? analysis.faces : analysis.faces.slice(0, Math.max(1, largest));
  const faces = facesLeftToRight(pool);
  if (faces.length === 0) {
    throw new InputError(
      'no_face',
      `No face was found in the ${what}. Use a photo with a clearly visible face.`,
    );
  }
  if (!Number.isInteger(index) || index < 0 || index >= faces.length) {
    const choices = faces.length === 1 ? 'only face 0' : `0 to ${faces.length - 1}, counted from the left`;
    throw new InputError(
      'no_such_face',
      `The ${what} has ${faces.length} face${faces.length === 1 ? '' : 's'}; choose ${choices} (got ${index}).`,
      { context: { faces: faces.length, index } },
    );
  }
  return faces[index];
}

/** The user's face in their own photo: the largest one (analysis lists faces largest first). */
export function largestFace(analysis: ImageAnalysis, what: string): Face {
  const face = analysis.faces[0];
  if (!face)
    throw new InputError(
      'no_face',
      `No face was found in the ${what}. Use a photo with a clearly visible face.`,
    );
  return face;
}
