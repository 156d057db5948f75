/**
 * A fixture SD 1.5 model folder whose oracle UNet ends every generation at a real face photo:
 * the target latents are chosen so that the fixture VAE decodes them to a 64x64 crop of a face
 * (upscaled 8x by the VAE's nearest upsampling). Generation, fusion, filtering and ranking then
 * all run on a real face; nothing is faked downstream of the model.
 */
import { readFileSync } from 'node:fs';
import { config } from '../../core/config.ts';
import { FaceAnalyzer } from '../../core/face/index.ts';
import { decodeImage, extractRgb, resizeRgb } from '../../core/image/codec.ts';
import { MAX_LATENT, VAE_DECODE, writeFixtureSdModel } from '../../models/fixtures/sd.ts';
import { ModelStore } from '../../models/store.ts';

/** Pseudo-inverse of the fixture VAE's 3x4 decode matrix: M^T (M M^T)^-1. */
function pinv(m: readonly (readonly number[])[]): number[][] {
  const mmt = [0, 1, 2].map((i) => [0, 1, 2].map((j) => m[i].reduce((a, v, k) => a + v * m[j][k], 0)));
  const [a, b, c] = mmt;
  const det =
    a[0] * (b[1] * c[2] - b[2] * c[1]) -
    a[1] * (b[0] * c[2] - b[2] * c[0]) +
    a[2] * (b[0] * c[1] - b[1] * c[0]);
  const inv = [
    [b[1] * c[2] - b[2] * c[1], a[2] * c[1] - a[1] * c[2], a[1] * b[2] - a[2] * b[1]],
    [b[2] * c[0] - b[0] * c[2], a[0] * c[2] - a[2] * c[0], a[2] * b[0] - a[0] * b[2]],
    [b[0] * c[1] - b[1] * c[0], a[1] * c[0] - a[0] * c[1], a[0] * b[1] - a[1] * b[0]],
  ].map((r) => r.map((v) => v / det));
  return [0, 1, 2, 3].map((k) => [0, 1, 2].map((j) => m.reduce((s, row, i) => s + row[k] * inv[i][j], 0)));
}

/** Write the folder; the face is face `index` (largest first) of the photo, ~200 px in a 512² image. */
export async function writeFaceModel(
  dir: string,
  photoFile: string,
  index = 0,
  opts: { loraProbe?: number; controlnet?: boolean } = {},
): Promise<void> {
  const img = await decodeImage(readFileSync(new URL(`../fixtures/faces/${photoFile}`, import.meta.url)));
  const analyzer = await FaceAnalyzer.load(new ModelStore(config().modelsDir));
  const face = (await analyzer.analyzeRgb(img)).faces[index];
  await analyzer.dispose();
  const [x0, y0, x1, y1] = face.box;
  const side = Math.round(Math.max(x1 - x0, y1 - y0) / 0.42);
  const left = Math.max(0, Math.round((x0 + x1) / 2 - side / 2));
  const top = Math.max(0, Math.round((y0 + y1) / 2 - side / 2));
  const s = Math.min(side, img.width - left, img.height - top);
  const n = 64;
  const small = await resizeRgb(extractRgb(img, left, top, s, s), n, n);
  const p = pinv(VAE_DECODE);
  const target = new Float32Array(4 * MAX_LATENT * MAX_LATENT);
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++) {
      const rgb = [0, 1, 2].map((c) => (small.data[(y * n + x) * 3 + c] / 255) * 2 - 1);
      for (let k = 0; k < 4; k++)
        target[(k * MAX_LATENT + y) * MAX_LATENT + x] =
          p[k][0] * rgb[0] + p[k][1] * rgb[1] + p[k][2] * rgb[2];
    }
  writeFixtureSdModel(dir, { target, ...opts });
}
