/**
 * Model inputs from photos and model outputs back to photo pixels: letterboxing (scale to fit,
 * pad the rest with black) and bilinear resampling of a probability map.
 */
import type { Mask } from '../fusion/raster.ts';
import { type RgbImage, resizeRgb } from '../image/codec.ts';

export interface Letterbox {
  /** The model input, inW × inH RGB. */
  rgb: RgbImage;
  /** Photo pixels × scale + offset = input pixels. */
  scale: number;
  offX: number;
  offY: number;
}

/** Fit the photo inside inW × inH keeping its aspect, centred, padded with black. */
export async function letterbox(img: RgbImage, inW: number, inH: number): Promise<Letterbox> {
  const scale = Math.min(inW / img.width, inH / img.height);
  const w = Math.max(1, Math.min(inW, Math.round(img.width * scale)));
  const h = Math.max(1, Math.min(inH, Math.round(img.height * scale)));
  const small = w === img.width && h === img.height ? img : await resizeRgb(img, w, h);
  const offX = Math.floor((inW - w) / 2);
  const offY = Math.floor((inH - h) / 2);
  const data = new Uint8Array(inW * inH * 3);
  for (let y = 0; y < h; y++) {
    data.set(small.data.subarray(y * w * 3, (y + 1) * w * 3), ((y + offY) * inW + offX) * 3);
  }
  return { rgb: { width: inW, height: inH, data }, scale: w / img.width, offX, offY };
}

/**
 * Resample a map of mapW × mapH values (one per input pixel of a letterbox) to the photo's
 * width × height, bilinearly, sampling at pixel centres.
 */
export function mapToPhoto(
  values: ArrayLike<number>,
  mapW: number,
  mapH: number,
  lb: { scale: number; offX: number; offY: number; scaleY?: number },
  width: number,
  height: number,
): Mask {
  const out = new Float32Array(width * height);
  const sy = lb.scaleY ?? lb.scale;
  const xs0 = new Int32Array(width);
  const xs1 = new Int32Array(width);
  const fx = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const u = Math.min(mapW - 1, Math.max(0, (x + 0.5) * lb.scale + lb.offX - 0.5));
    xs0[x] = Math.floor(u);
    xs1[x] = Math.min(mapW - 1, xs0[x] + 1);
    fx[x] = u - xs0[x];
  }
  for (let y = 0; y < height; y++) {
    const v = Math.min(mapH - 1, Math.max(0, (y + 0.5) * sy + lb.offY - 0.5));
    const y0 = Math.floor(v);
    const y1 = Math.min(mapH - 1, y0 + 1);
    const fy = v - y0;
    const r0 = y0 * mapW;
    const r1 = y1 * mapW;
    for (let x = 0; x < width; x++) {
      const a = values[r0 + xs0[x]] + (values[r0 + xs1[x]] - values[r0 + xs0[x]]) * fx[x];
      const b = values[r1 + xs0[x]] + (values[r1 + xs1[x]] - values[r1 + xs0[x]]) * fx[x];
      out[y * width + x] = a + (b - a) * fy;
    }
  }
  return { width, height, data: out };
}
