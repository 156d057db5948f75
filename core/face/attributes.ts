/**
 * Per-face attributes from small models: age and gender (SSR-Net), head pose (Hopenet-style
 * binned regression), eye state (24x24 grey eye crops), and sharpness (variance of the
 * Laplacian, no model).
 */
import type { OnnxSession, Tensor } from '../../models/onnx.ts';
import {
  type Affine,
  composeAffine,
  type Point,
  type Pyramid,
  warpAffine,
  warpToPlanar,
} from '../image/warp.ts';
import { eyeCentres, squareCrop } from './landmarks.ts';
import { greyToFloat, IMAGENET_MEAN, IMAGENET_STD, rgbToChw, softmax } from './tensor.ts';
import type { Box, HeadPose } from './types.ts';

const GREY: [number, number, number] = [127, 127, 127];

/** SSR-Net's soft stagewise regression: three stages of 3 bins, refined by learnt shifts and scales. */
export function ssrnetDecode(out: Record<string, Tensor>, range: number): number {
  const g = (name: string, i = 0) => (out[name]!.data as Float32Array)[i]!;
  const stages = 3;
  const bins = 3;
  let value = 0;
  let denom = 1;
  for (let s = 1; s <= stages; s++) {
    denom *= bins * (1 + g(`stage${s}_delta_k`));
    let acc = 0;
    for (let i = 0; i < bins; i++) acc += (i + g(`index_offset_stage${s}`, i)) * g(`prob_stage_${s}`, i);
    value += acc / denom;
  }
  return value * range;
}

/** Mirror an interleaved 3-channel square image left-right. */
function mirror(rgb: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++) {
      const s = (y * n + x) * 3;
      const d = (y * n + n - 1 - x) * 3;
      out[d] = rgb[s]!;
      out[d + 1] = rgb[s + 1]!;
      out[d + 2] = rgb[s + 2]!;
    }
  return out;
}

/**
 * Age and gender from the square face box (side = box height), 64x64, channels in BGR order
 * with ImageNet statistics, averaged over the crop and its mirror image. Of the variants tried
 * on the fixtures (box x1.0/1.2/1.4, roll-corrected or not, RGB/BGR, three normalisations) this
 * one separated the men from the women best; the gender model is weak all the same (8 of 9
 * fixture faces right), which is why identities aggregate it over all photos.
 */
export async function predictAgeGender(
  age: OnnxSession,
  gender: OnnxSession,
  pyr: Pyramid,
  frame: Affine,
  box: Box,
): Promise<{ age: number; maleScore: number }> {
  const side = box[3] - box[1];
  const crop = squareCrop((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, side, 0, 64);
  const rgb = warpAffine(pyr, composeAffine(crop, frame), 64, 64, { fill: GREY });
  let a = 0;
  let g = 0;
  for (const view of [rgb, mirror(rgb, 64)]) {
    const bgr = new Uint8Array(view.length);
    for (let i = 0; i < view.length; i += 3) {
      bgr[i] = view[i + 2]!;
      bgr[i + 1] = view[i + 1]!;
      bgr[i + 2] = view[i]!;
    }
    const input = {
      input: {
        type: 'float32' as const,
        data: rgbToChw(bgr, 64 * 64, IMAGENET_MEAN, IMAGENET_STD),
        dims: [1, 3, 64, 64],
      },
    };
    a += ssrnetDecode(await age.run(input), 101) / 2;
    g += ssrnetDecode(await gender.run(input), 1) / 2;
  }
  return { age: Math.max(0, Math.min(100, a)), maleScore: Math.max(0, Math.min(1, g)) };
}

/** Head pose from the box enlarged by half (axis-aligned: the roll must stay visible). */
export async function predictPose(
  session: OnnxSession,
  pyr: Pyramid,
  frame: Affine,
  box: Box,
): Promise<HeadPose> {
  const w = box[2] - box[0];
  const h = box[3] - box[1];
  // Scale x and y separately: the reference resizes the enlarged (non-square) box to 224x224.
  const kx = 224 / (1.5 * w);
  const ky = 224 / (1.5 * h);
  const m: Affine = [kx, 0, 112 - kx * ((box[0] + box[2]) / 2), 0, ky, 112 - ky * ((box[1] + box[3]) / 2)];
  const input = warpToPlanar(pyr, composeAffine(m, frame), 224, 224, {
    fill: GREY,
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
  });
  const out = await session.run({ input: { type: 'float32', data: input, dims: [1, 3, 224, 224] } });
  const angle = (name: string) => {
    const p = softmax(out[name]!.data as Float32Array);
    let e = 0;
    for (let i = 0; i < p.length; i++) e += p[i]! * i;
    return e * 3 - 99;
  };
  return { yaw: angle('output'), pitch: angle('617'), roll: angle('618') };
}

/**
 * Openness per eye (image-left eye first), 0..1. Crops are square, centred on the lid points,
 * 1.6 x the eye-corner distance, turned upright by the face roll.
 */
export async function predictEyes(
  session: OnnxSession,
  pyr: Pyramid,
  frame: Affine,
  lm: readonly Point[],
  roll: number,
): Promise<[number, number]> {
  const centres = eyeCentres(lm);
  const corners: [number, number][] = [
    [36, 39],
    [42, 45],
  ];
  const res: number[] = [];
  for (let e = 0; e < 2; e++) {
    const [a, b] = corners[e]!;
    const width = Math.hypot(lm[b]![0] - lm[a]![0], lm[b]![1] - lm[a]![1]);
    const crop = squareCrop(centres[e]![0], centres[e]![1], Math.max(width * 1.6, 2), roll, 24);
    const grey = warpAffine(pyr, composeAffine(crop, frame), 24, 24, { grey: true, fill: GREY });
    const out = await session.run({
      input: { type: 'float32', data: greyToFloat(grey, 1 / 255), dims: [1, 1, 24, 24] },
    });
    res.push(softmax(out.output!.data as Float32Array)[EYE_OPEN_CLASS]!);
  }
  return [res[0]!, res[1]!];
}

/** Index of the "open" class in the eye model's two outputs (measured on the fixtures). */
export const EYE_OPEN_CLASS = 1;

/**
 * Sharpness: variance of the 4-neighbour Laplacian over the central part of a grey square face,
 * rescaled to a mean grey level of 128 so that exposure does not move it (a darker photo of the
 * same face has proportionally weaker edges). Focused faces score about 60-450 on the fixtures;
 * blurred ones (box blur radius 2, three passes) 2-16.
 */
export function laplacianVariance(grey: Uint8Array, size: number, margin = Math.round(size / 7)): number {
  const m0 = Math.max(1, margin);
  let sum = 0;
  let sq = 0;
  let gsum = 0;
  let n = 0;
  for (let y = m0; y < size - m0; y++) {
    for (let x = m0; x < size - m0; x++) {
      const i = y * size + x;
      const g = grey[i]!;
      const l = grey[i - 1]! + grey[i + 1]! + grey[i - size]! + grey[i + size]! - 4 * g;
      sum += l;
      sq += l * l;
      gsum += g;
      n++;
    }
  }
  const lapVar = sq / n - (sum / n) ** 2;
  const meanGrey = Math.max(gsum / n, 8);
  return lapVar * (128 / meanGrey) ** 2;
}
