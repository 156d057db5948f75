/**
 * A mask shown on its photo, so the user can see what will be kept: outside the mask the photo is
 * dimmed, inside it is tinted, and the mask's edge is drawn.
 */
import type { Mask } from '../fusion/raster.ts';
import type { RgbImage } from '../image/codec.ts';

export function maskOverlay(
  img: RgbImage,
  m: Mask,
  opts: { color?: readonly [number, number, number]; tint?: number; dim?: number } = {},
): RgbImage {
  const color = opts.color ?? [255, 60, 140];
  const tint = opts.tint ?? 0.3;
  const dim = opts.dim ?? 0.35;
  const { width: w, height: h } = img;
  const out = new Uint8Array(img.data.length);
  const on = (x: number, y: number) => x >= 0 && y >= 0 && x < w && y < h && m.data[y * w + x] >= 0.5;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const inside = on(x, y);
      // Edge: inside pixels with an outside neighbour within 1 px (2 px thick on big photos).
      const t = Math.max(1, Math.round(Math.min(w, h) / 400));
      const edge = inside && (!on(x - t, y) || !on(x + t, y) || !on(x, y - t) || !on(x, y + t));
      for (let c = 0; c < 3; c++) {
        const v = img.data[i * 3 + c];
        out[i * 3 + c] = edge
          ? color[c]
          : inside
            ? Math.round(v * (1 - tint) + color[c] * tint)
            : Math.round(v * dim);
      }
    }
  }
  return { width: w, height: h, data: out };
}
