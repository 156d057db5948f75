/** Shared set-up for face tests: fixture photos and one loaded analyzer per test file. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { config } from '../../core/config.ts';
import { FaceAnalyzer } from '../../core/face/analyzer.ts';
import { decodeImage, type RgbImage } from '../../core/image/codec.ts';
import { ModelStore } from '../../models/store.ts';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'faces');

export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(FIXTURES, name)));
}

export async function fixtureRgb(name: string): Promise<RgbImage> {
  return decodeImage(fixtureBytes(name));
}

export async function loadAnalyzer(): Promise<FaceAnalyzer> {
  return FaceAnalyzer.load(new ModelStore(config().modelsDir), { threads: 1 });
}

/** Multiply every channel by k (clamped): a brightness change. */
export function brighten(img: RgbImage, k: number): RgbImage {
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.min(255, Math.round(img.data[i]! * k));
  return { ...img, data };
}

/** Box blur of radius r (separable, repeated thrice ~ Gaussian). */
export function blur(img: RgbImage, r: number): RgbImage {
  let cur = img.data;
  const { width: w, height: h } = img;
  for (let pass = 0; pass < 3; pass++) {
    for (const horizontal of [true, false]) {
      const out = new Uint8Array(cur.length);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          for (let c = 0; c < 3; c++) {
            let s = 0;
            let n = 0;
            for (let k = -r; k <= r; k++) {
              const xx = horizontal ? x + k : x;
              const yy = horizontal ? y : y + k;
              if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
              s += cur[(yy * w + xx) * 3 + c]!;
              n++;
            }
            out[(y * w + x) * 3 + c] = Math.round(s / n);
          }
      cur = out;
    }
  }
  return { data: cur, width: w, height: h };
}

export function meanAbsDiff(a: RgbImage, b: RgbImage): number {
  if (a.width !== b.width || a.height !== b.height) return Infinity;
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i]! - b.data[i]!);
  return s / a.data.length;
}
