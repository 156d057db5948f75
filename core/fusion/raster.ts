/**
 * The plain raster types fusion works on: interleaved 8-bit RGB (what the codec decodes to),
 * float RGB work buffers (0..255, no clamping between steps) and single-channel float masks (0..1).
 * Kept free of any image library so every step can be tested on synthetic pixels.
 */
import { InputError } from '../../base/errors.ts';
import type { RgbImage } from '../image/codec.ts';

export type { RgbImage };

export type Point = readonly [number, number];

export interface FloatRgb {
  width: number;
  height: number;
  /** RGB interleaved, 0..255 scale. */
  data: Float32Array;
}

export interface Mask {
  width: number;
  height: number;
  /** One value per pixel, 0..1. */
  data: Float32Array;
}

/** An axis-aligned pixel rectangle: x0,y0 inclusive, x1,y1 exclusive. */
export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export function rgbImage(width: number, height: number, data?: Uint8Array): RgbImage {
  const n = width * height * 3;
  if (data && data.length !== n) {
    throw new InputError('bad_image_buffer', `RGB buffer has ${data.length} bytes, expected ${n}.`);
  }
  return { width, height, data: data ?? new Uint8Array(n) };
}

export function floatRgb(width: number, height: number): FloatRgb {
  return { width, height, data: new Float32Array(width * height * 3) };
}

export function mask(width: number, height: number): Mask {
  return { width, height, data: new Float32Array(width * height) };
}

/** Copy a rectangle of an 8-bit image into a float buffer of the rectangle's size. */
export function cropToFloat(img: RgbImage, r: Rect): FloatRgb {
  const w = r.x1 - r.x0;
  const h = r.y1 - r.y0;
  const out = floatRgb(w, h);
  const src = img.data;
  const dst = out.data;
  for (let y = 0; y < h; y++) {
    let si = ((r.y0 + y) * img.width + r.x0) * 3;
    let di = y * w * 3;
    for (let x = 0; x < w * 3; x++) dst[di++] = src[si++];
  }
  return out;
}

/** Write a float buffer back into a rectangle of an 8-bit image (rounded, clamped to 0..255). */
export function pasteFloat(img: RgbImage, r: Rect, f: FloatRgb): void {
  const w = r.x1 - r.x0;
  const h = r.y1 - r.y0;
  const dst = img.data;
  const src = f.data;
  for (let y = 0; y < h; y++) {
    let di = ((r.y0 + y) * img.width + r.x0) * 3;
    let si = y * w * 3;
    for (let x = 0; x < w * 3; x++) {
      const v = src[si++] + 0.5;
      dst[di++] = v <= 0 ? 0 : Math.min(v, 255);
    }
  }
}

/** The bounding rectangle of points, grown by margin and clipped to the image. */
export function boundsOf(points: readonly Point[], margin: number, width: number, height: number): Rect {
  let x0 = Number.POSITIVE_INFINITY;
  let y0 = Number.POSITIVE_INFINITY;
  let x1 = Number.NEGATIVE_INFINITY;
  let y1 = Number.NEGATIVE_INFINITY;
  for (const [x, y] of points) {
    if (x < x0) x0 = x;
    if (y < y0) y0 = y;
    if (x > x1) x1 = x;
    if (y > y1) y1 = y;
  }
  return {
    x0: Math.max(0, Math.floor(x0 - margin)),
    y0: Math.max(0, Math.floor(y0 - margin)),
    x1: Math.min(width, Math.ceil(x1 + margin) + 1),
    y1: Math.min(height, Math.ceil(y1 + margin) + 1),
  };
}
