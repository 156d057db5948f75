/**
 * Face detection with the slim RFB-320 detector (fixed 320x240 input, 4420 anchors whose boxes
 * the model already decodes to normalised corners). One pass sees the whole image letterboxed;
 * finer pyramid levels are cut into overlapping 320x240 tiles so small faces in large group
 * photos reach the detector at a size it can see (about 18 px or more). Boxes from all passes
 * are merged with non-maximum suppression in upright-image pixels.
 */

import { throwIfAborted } from '../../base/errors.ts';
import type { OnnxSession } from '../../models/onnx.ts';
import { type Affine, composeAffine, type Pyramid, warpToPlanar } from '../image/warp.ts';
import type { Box } from './types.ts';

export const DET_W = 320;
export const DET_H = 240;
const MEAN = [127, 127, 127] as const;
const STD = [128, 128, 128] as const;
/** Smallest face (detector-input pixels) the finest pass aims to present to the model. */
const DET_MIN_FACE = 18;
/** Tile overlap in detector pixels: twice the largest face a fine level is responsible for. */
const TILE_OVERLAP = 64;
/** Confidence required from tiled (finer) passes. */
const FINE_PASS_MIN_SCORE = 0.8;

export interface Detection {
  box: Box;
  score: number;
}

export interface DetectOptions {
  /**
   * Smallest face to look for, in upright-image pixels. Default max(60, 2% of the short side):
   * 60 px faces in a 4000x3000 group photo, and no tiling work on a phone selfie for faces
   * too small to be used for anything (FaceChain keeps faces of 120-300 px).
   */
  minFaceSize?: number;
  /** Detector confidence to keep a box (the model's reference value is 0.65; 0.7 here). */
  scoreThreshold?: number;
  /** IoU above which the weaker of two boxes is dropped. */
  nmsIou?: number;
}

export function defaultMinFaceSize(width: number, height: number): number {
  return Math.max(60, Math.round(Math.min(width, height) * 0.02));
}

/** Affine (continuous coordinates) from decoded pixels to the image rotated clockwise by `deg`. */
export function rotationAffine(w: number, h: number, deg: 0 | 90 | 180 | 270): Affine {
  if (deg === 90) return [0, -1, h, 1, 0, 0];
  if (deg === 180) return [-1, 0, w, 0, -1, h];
  if (deg === 270) return [0, 1, 0, -1, 0, w];
  return [1, 0, 0, 0, 1, 0];
}

/** Raw detector output for one 320x240 input. */
export interface RawRun {
  scores: Float32Array;
  boxes: Float32Array;
}

/**
 * Buffers reused by the detector passes (each run completes before the next input is built):
 * one 320x240 input, and the whole scaled image that tiles are cut from (grown as needed). An
 * analyzer keeps one set for all its photos, so detection allocates nothing per photo.
 */
export interface DetectorScratch {
  input: Float32Array;
  whole: Float32Array;
}

export function detectorScratch(): DetectorScratch {
  return { input: new Float32Array(3 * DET_W * DET_H), whole: new Float32Array(0) };
}

async function runDetector(
  session: OnnxSession,
  pyr: Pyramid,
  srcToInput: Affine,
  signal?: AbortSignal,
  scratch?: DetectorScratch,
): Promise<RawRun> {
  throwIfAborted(signal);
  const input = warpToPlanar(pyr, srcToInput, DET_W, DET_H, {
    fill: [127, 127, 127],
    mean: MEAN,
    std: STD,
    out: scratch?.input,
  });
  return runOn(session, input);
}

async function runOn(session: OnnxSession, input: Float32Array): Promise<RawRun> {
  const out = await session.run({ input: { type: 'float32', data: input, dims: [1, 3, DET_H, DET_W] } });
  return { scores: out.scores!.data as Float32Array, boxes: out.boxes!.data as Float32Array };
}

/** Largest scaled image (pixels) warped once and cut into tiles, rather than warped per tile. */
const WHOLE_PASS_MAX_PIXELS = 1_500_000;

/**
 * The inputs of one tiled pass. Tiles overlap, so when the scaled image is not too large it is
 * warped once and the tiles are copied out of it (the same samples: tile offsets are whole
 * pixels); otherwise each tile is warped on its own.
 */
function tileSource(
  pyr: Pyramid,
  toScaled: Affine,
  sw: number,
  sh: number,
  tiles: number,
  scratch: DetectorScratch,
): ((tx: number, ty: number, into: Float32Array) => Float32Array) | undefined {
  const w = Math.max(DET_W, Math.ceil(sw));
  const h = Math.max(DET_H, Math.ceil(sh));
  if (tiles < 2 || w * h > WHOLE_PASS_MAX_PIXELS) return undefined;
  if (scratch.whole.length < 3 * w * h) scratch.whole = new Float32Array(3 * w * h);
  const whole = warpToPlanar(pyr, toScaled, w, h, {
    fill: [127, 127, 127],
    mean: MEAN,
    std: STD,
    out: scratch.whole.subarray(0, 3 * w * h),
  });
  const plane = w * h;
  return (tx, ty, into) => {
    for (let c = 0; c < 3; c++)
      for (let row = 0; row < DET_H; row++) {
        const from = c * plane + (ty + row) * w + tx;
        into.set(whole.subarray(from, from + DET_W), c * DET_W * DET_H + row * DET_W);
      }
    return into;
  };
}

/** Uniform scale s, then shift by (-tx, -ty): upright coordinates into one detector input. */
function scaleAffine(s: number, tx: number, ty: number): Affine {
  return [s, 0, -tx, 0, s, -ty];
}

export interface RotationEvidence {
  /** Sum of anchor scores above 0.5 in the whole-image pass. */
  mass: number;
  /** The strongest box of that pass, in the rotated frame. */
  best?: Detection;
  /** The raw output, reused as the first pass of detectFaces for the chosen rotation. */
  run: RawRun;
}

/**
 * The whole-image pass at one candidate rotation: how strongly it fires and its strongest box,
 * from which the caller checks whether the landmark model locks onto a face there.
 */
export async function rotationEvidence(
  session: OnnxSession,
  pyr: Pyramid,
  deg: 0 | 90 | 180 | 270,
  signal?: AbortSignal,
  scratch?: DetectorScratch,
): Promise<RotationEvidence> {
  const rot = rotationAffine(pyr.width, pyr.height, deg);
  const rw = deg % 180 ? pyr.height : pyr.width;
  const rh = deg % 180 ? pyr.width : pyr.height;
  const s = Math.min(DET_W / rw, DET_H / rh);
  const run = await runDetector(session, pyr, composeAffine(scaleAffine(s, 0, 0), rot), signal, scratch);
  let mass = 0;
  let bestI = -1;
  for (let i = 0; i < run.scores.length / 2; i++) {
    const v = run.scores[i * 2 + 1]!;
    if (v > 0.5) mass += v;
    if (bestI < 0 || v > run.scores[bestI * 2 + 1]!) bestI = i;
  }
  const score = run.scores[bestI * 2 + 1]!;
  const b = run.boxes.subarray(bestI * 4, bestI * 4 + 4);
  return {
    mass,
    run,
    best:
      score >= 0.5
        ? {
            score,
            box: [(b[0]! * DET_W) / s, (b[1]! * DET_H) / s, (b[2]! * DET_W) / s, (b[3]! * DET_H) / s],
          }
        : undefined,
  };
}

function tileStarts(length: number, tile: number): number[] {
  if (length <= tile) return [0];
  const n = Math.ceil((length - TILE_OVERLAP) / (tile - TILE_OVERLAP));
  const step = (length - tile) / (n - 1);
  return Array.from({ length: n }, (_, i) => Math.round(i * step));
}

/** Scales of the passes: the whole image, then doublings down to the smallest face asked for. */
export function passScales(width: number, height: number, minFace: number): number[] {
  const s0 = Math.min(DET_W / width, DET_H / height);
  const finest = Math.min(1, DET_MIN_FACE / minFace);
  const scales = [s0];
  let s = s0;
  while (s < finest * 0.95) {
    s = Math.min(s * 2, finest);
    scales.push(s);
  }
  return scales;
}

/**
 * Find faces in the upright frame. `frame` maps decoded pixels to upright pixels (a 90-degree
 * rotation or identity); (width, height) is the upright size.
 */
export async function detectFaces(
  session: OnnxSession,
  pyr: Pyramid,
  frame: Affine,
  width: number,
  height: number,
  opts: DetectOptions & { signal?: AbortSignal; firstPass?: RawRun; scratch?: DetectorScratch } = {},
): Promise<Detection[]> {
  const minFace = opts.minFaceSize ?? defaultMinFaceSize(width, height);
  const threshold = opts.scoreThreshold ?? 0.7;
  const found: Detection[] = [];
  const scales = passScales(width, height, minFace);
  for (const [k, s] of scales.entries()) {
    // A finer pass answers only for faces the coarser one was too coarse to see; large boxes in a
    // tile lack context and were the false positives on the fixtures, as were weak ones.
    const maxInputFace = k === 0 ? Infinity : 2.5 * DET_MIN_FACE * (s / scales[k - 1]!);
    const passThreshold = k === 0 ? threshold : Math.max(threshold, FINE_PASS_MIN_SCORE);
    const sw = width * s;
    const sh = height * s;
    const xs = tileStarts(sw, DET_W);
    const ys = tileStarts(sh, DET_H);
    const scratch = opts.scratch ?? detectorScratch();
    const cut = tileSource(
      pyr,
      composeAffine(scaleAffine(s, 0, 0), frame),
      sw,
      sh,
      xs.length * ys.length,
      scratch,
    );
    for (const ty of ys) {
      for (const tx of xs) {
        let run: RawRun;
        if (k === 0 && opts.firstPass) run = opts.firstPass;
        else if (cut) {
          throwIfAborted(opts.signal);
          run = await runOn(session, cut(tx, ty, scratch.input));
        } else
          run = await runDetector(
            session,
            pyr,
            composeAffine(scaleAffine(s, tx, ty), frame),
            opts.signal,
            scratch,
          );
        // Edges shared with a neighbouring tile: a face cut there is seen whole in the neighbour.
        const cutL = tx > 0;
        const cutT = ty > 0;
        const cutR = tx + DET_W < sw - 0.5;
        const cutB = ty + DET_H < sh - 0.5;
        for (let i = 0; i < run.scores.length / 2; i++) {
          const score = run.scores[i * 2 + 1]!;
          if (score < passThreshold) continue;
          const bx1 = run.boxes[i * 4]! * DET_W;
          const by1 = run.boxes[i * 4 + 1]! * DET_H;
          const bx2 = run.boxes[i * 4 + 2]! * DET_W;
          const by2 = run.boxes[i * 4 + 3]! * DET_H;
          if (bx2 - bx1 < 2 || by2 - by1 < 2 || Math.max(bx2 - bx1, by2 - by1) > maxInputFace) continue;
          if (
            (cutL && bx1 < 2) ||
            (cutT && by1 < 2) ||
            (cutR && bx2 > DET_W - 2) ||
            (cutB && by2 > DET_H - 2)
          )
            continue;
          const box: Box = [
            clamp((bx1 + tx) / s, 0, width),
            clamp((by1 + ty) / s, 0, height),
            clamp((bx2 + tx) / s, 0, width),
            clamp((by2 + ty) / s, 0, height),
          ];
          if (box[2] - box[0] < 4 || box[3] - box[1] < 4) continue;
          found.push({ box, score });
        }
      }
    }
  }
  // Boxes far below the smallest face asked for are mostly texture; the finest pass was not
  // built to see them reliably.
  return nms(found, opts.nmsIou ?? 0.4).filter(
    (d) => Math.max(d.box[2] - d.box[0], d.box[3] - d.box[1]) >= minFace / 2,
  );
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(v, hi));
}

function area(b: Box): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

export function iou(a: Box, b: Box): number {
  const inter = intersection(a, b);
  return inter / (area(a) + area(b) - inter);
}

function intersection(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  return w > 0 && h > 0 ? w * h : 0;
}

/**
 * Greedy NMS by score. A box mostly inside a stronger one (a face part seen at a finer pass)
 * is dropped too. Kept boxes are averaged with the boxes they suppress (weighted by score),
 * which steadies them across scales and tiles.
 */
export function nms(dets: Detection[], iouThreshold: number): Detection[] {
  const sorted = [...dets].sort((a, b) => b.score - a.score).slice(0, 3000);
  const used = new Uint8Array(sorted.length);
  const out: Detection[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (used[i]) continue;
    const keep = sorted[i]!;
    const acc = [0, 0, 0, 0];
    let wsum = 0;
    for (let j = i; j < sorted.length; j++) {
      if (used[j]) continue;
      const other = sorted[j]!;
      const inter = intersection(keep.box, other.box);
      const overlap = inter / (area(keep.box) + area(other.box) - inter);
      const inside = inter / Math.min(area(keep.box), area(other.box));
      if (j === i || overlap > iouThreshold || inside > 0.8) {
        used[j] = 1;
        if (j === i || overlap > iouThreshold) {
          for (let k = 0; k < 4; k++) acc[k]! += other.box[k]! * other.score;
          wsum += other.score;
        }
      }
    }
    out.push({ box: acc.map((v) => v / wsum) as Box, score: keep.score });
  }
  return out;
}
