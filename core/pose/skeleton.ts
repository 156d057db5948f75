/**
 * Telling an OpenPose skeleton image (drawn by a pose editor or by drawSkeleton) from an ordinary
 * photo, so /portrait can take either: a skeleton is mostly black, and almost everything that is
 * not black has one of the 18 joint colours or their 60% limb shades, several of them. Chat apps
 * recompress to JPEG, so colours are matched with a tolerance and dark ringing counts as black.
 */
import type { RgbImage } from '../image/codec.ts';
import { limbColor, OPENPOSE_COLORS } from './draw.ts';

const PALETTE: readonly (readonly number[])[] = [
  ...OPENPOSE_COLORS,
  ...OPENPOSE_COLORS.map((_, i) => limbColor(i)),
];

export const SKELETON_TEST = {
  /** A pixel whose brightest channel is below this is background. */
  dark: 40,
  /** At least this share of the image is background. */
  minDark: 0.6,
  /** Something is drawn: at least this share of the image is not background. */
  minDrawn: 0.0005,
  /** A drawn pixel within this distance (largest channel difference) of a palette colour matches. */
  tolerance: 48,
  /** Of the drawn pixels, at least this share match the palette. */
  minPalette: 0.7,
  /** At least this many different palette colours appear (a red object on black is not a skeleton). */
  minColors: 4,
  /** A palette colour counts as present with at least this many pixels. */
  minColorPixels: 6,
} as const;

/** The nearest palette entry (by largest channel difference) and its distance. */
function nearest(r: number, g: number, b: number): [number, number] {
  let best = -1;
  let bestD = Number.POSITIVE_INFINITY;
  for (let i = 0; i < PALETTE.length; i++) {
    const c = PALETTE[i];
    const d = Math.max(Math.abs(r - c[0]), Math.abs(g - c[1]), Math.abs(b - c[2]));
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return [best, bestD];
}

export interface SkeletonVerdict {
  skeleton: boolean;
  dark: number;
  palette: number;
  colors: number;
}

/** Measures behind isSkeletonImage (for tests and tuning). Samples at most ~250k pixels. */
export function skeletonEvidence(img: RgbImage): SkeletonVerdict {
  const n = img.width * img.height;
  const step = Math.max(1, Math.floor(Math.sqrt(n / 250_000)));
  let total = 0;
  let dark = 0;
  let drawn = 0;
  let matched = 0;
  const perColor = new Array<number>(OPENPOSE_COLORS.length).fill(0);
  for (let y = 0; y < img.height; y += step) {
    for (let x = 0; x < img.width; x += step) {
      const i = (y * img.width + x) * 3;
      const r = img.data[i];
      const g = img.data[i + 1];
      const b = img.data[i + 2];
      total++;
      if (Math.max(r, g, b) < SKELETON_TEST.dark) {
        dark++;
        continue;
      }
      drawn++;
      const [k, d] = nearest(r, g, b);
      if (d <= SKELETON_TEST.tolerance) {
        matched++;
        perColor[k % OPENPOSE_COLORS.length]++;
      }
    }
  }
  const minPixels = Math.max(1, Math.round(SKELETON_TEST.minColorPixels / (step * step)));
  const colors = perColor.filter((c) => c >= minPixels).length;
  const darkShare = dark / total;
  const palette = drawn ? matched / drawn : 0;
  const skeleton =
    darkShare >= SKELETON_TEST.minDark &&
    drawn / total >= SKELETON_TEST.minDrawn &&
    palette >= SKELETON_TEST.minPalette &&
    colors >= SKELETON_TEST.minColors;
  return { skeleton, dark: darkShare, palette, colors };
}

/** True for an OpenPose skeleton image, false for an ordinary photo. */
export function isSkeletonImage(img: RgbImage): boolean {
  return skeletonEvidence(img).skeleton;
}
