/** Shared by the pose tests: fixture photos, hand-marked truth, loaded body models. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { config } from '../../core/config.ts';
import type { Mask } from '../../core/fusion/raster.ts';
import { decodeImage, type RgbImage } from '../../core/image/codec.ts';
import { BodyModels } from '../../core/pose/body-models.ts';
import { ModelStore } from '../../models/store.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BODY = path.join(here, '..', 'fixtures', 'body');
export const FACES = path.join(here, '..', 'fixtures', 'faces');

export function bytes(file: string): Uint8Array {
  return new Uint8Array(readFileSync(file));
}

export async function photo(file: string): Promise<RgbImage> {
  return decodeImage(bytes(file));
}

export interface KeypointTruth {
  file: string;
  height: number;
  keypoints: ([number, number] | null)[];
}

export function keypointTruth(): Record<string, KeypointTruth> {
  return JSON.parse(readFileSync(path.join(BODY, 'truth.json'), 'utf8')).photos;
}

export function personPolygon(): [number, number][] {
  return JSON.parse(readFileSync(path.join(BODY, 'messi5-person.json'), 'utf8')).polygon;
}

export function loadBody(): Promise<BodyModels> {
  return BodyModels.load(new ModelStore(config().modelsDir));
}

export function iou(a: Mask, b: Mask): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i] >= 0.5;
    const y = b.data[i] >= 0.5;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union ? inter / union : 0;
}

export function px(img: RgbImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * 3;
  return [img.data[i], img.data[i + 1], img.data[i + 2]];
}
