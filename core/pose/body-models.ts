/**
 * The body models: MoveNet MultiPose (people and their 17 COCO keypoints) and MediaPipe Selfie
 * Segmentation (person probability per pixel). Both are published as TensorFlow.js graph models
 * (models/manifests/body-*.json, verified by the model store); they are converted to ONNX in
 * memory when loaded (models/tfjs-convert.ts) and run on ONNX Runtime like the face models.
 * MoveNet's decoding runs in TypeScript (movenet-decode.ts). One instance per thread; it holds
 * only its two sessions.
 */

import { throwIfAborted } from '../../base/errors.ts';
import { OnnxSession } from '../../models/onnx.ts';
import type { ModelStore } from '../../models/store.ts';
import { tfjsToOnnx } from '../../models/tfjs-convert.ts';
import { config } from '../config.ts';
import { iou } from '../face/detect.ts';
import type { Box } from '../face/types.ts';
import type { Mask } from '../fusion/raster.ts';
import { extractRgb, type RgbImage, resizeRgb } from '../image/codec.ts';
import { letterbox, mapToPhoto } from './input.ts';
import type { Keypoint } from './keypoints.ts';
import { binarize, fillHoles } from './mask-ops.ts';
import { decodeMoveNet } from './movenet-decode.ts';

export const BODY_MODEL_IDS = ['body-pose', 'body-segment'] as const;

export const POSE_DEFAULTS = {
  /** MoveNet MultiPose input: longer side (a multiple of 32; 256 is the model's own size). */
  inputSize: 256,
  /** People scoring below this are not reported. */
  minPersonScore: 0.25,
} as const;

/** A person as MoveNet gives it, in photo pixels: 17 COCO keypoints. */
export interface CocoPerson {
  box: Box;
  score: number;
  keypoints: Keypoint[];
}

const SEG_SIZE = 256;
/** Refinement crop: this many times the person's box, square. */
const REFINE_MARGIN = 1.25;
/** Segmentation crop around a person: this many times its box (clipped to the photo). */
const SEG_MARGIN = 1.2;
/** Masks of bigger photos are combined at this size (longer side) and resampled once. */
const SEG_WORK_SIZE = 1024;
/** The refined person must overlap the first box this much (IoU). */
const REFINE_MIN_IOU = 0.3;

/** MoveNet's six heads (graph node -> ONNX output name), in the order decodeMoveNet takes them. */
const MOVENET_HEADS = [
  { node: 'StatefulPartitionedCall/Sigmoid', name: 'center' },
  { node: 'StatefulPartitionedCall/Sigmoid_1', name: 'keypoint_heatmap' },
  { node: 'StatefulPartitionedCall/kpt_regress_0/conv2d_8/BiasAdd', name: 'keypoint_regress' },
  { node: 'StatefulPartitionedCall/kpt_offset_0/conv2d_9/BiasAdd', name: 'keypoint_offset' },
  { node: 'StatefulPartitionedCall/box_scale_0/conv2d_5/BiasAdd', name: 'box_scale' },
  { node: 'StatefulPartitionedCall/box_offset_0/conv2d_6/BiasAdd', name: 'box_offset' },
];

export class BodyModels {
  private constructor(
    private readonly pose: OnnxSession,
    private readonly seg: OnnxSession,
  ) {}

  static async load(
    store: ModelStore,
    opts: { threads?: number; providers?: string[] } = {},
  ): Promise<BodyModels> {
    const open = async (
      id: string,
      outputs: { node: string; name: string }[],
      inputType: 'float32' | 'int32',
    ) => {
      const m = store.manifest(id);
      // Every file (graph and weight shards) is verified before the converter reads them.
      for (const f of m.files) await store.path(id, f.name);
      const input = m.inputs[0];
      const bytes = tfjsToOnnx(store.filePath(id, m.files[0].name), {
        name: id,
        inputShape: input.shape,
        inputType,
        outputs,
      });
      return OnnxSession.create(bytes, {
        name: id,
        threads: opts.threads ?? config().FACECHAIN_ORT_THREADS,
        providers: opts.providers ?? config().executionProviders,
        expectInputs: m.inputs,
        expectOutputs: m.outputs,
        memPattern: false,
      });
    };
    const pose = await open('body-pose', MOVENET_HEADS, 'int32');
    try {
      return new BodyModels(
        pose,
        await open('body-segment', [{ node: 'activation_10', name: 'activation_10' }], 'float32'),
      );
    } catch (e) {
      await pose.dispose();
      throw e;
    }
  }

  /**
   * People in the photo, highest score first. The photo is letterboxed into an input whose longer
   * side is `inputSize`, the other side rounded up to a multiple of 32 (MoveNet's stride). Each
   * person is then looked at again in a square crop around its box (`refine`, default on), which
   * measured closer to hand-marked joints (docs/tryon-and-pose.md).
   */
  async detectPeople(
    img: RgbImage,
    opts: { inputSize?: number; minScore?: number; refine?: boolean; signal?: AbortSignal } = {},
  ): Promise<CocoPerson[]> {
    throwIfAborted(opts.signal);
    const side = opts.inputSize ?? POSE_DEFAULTS.inputSize;
    const minScore = opts.minScore ?? POSE_DEFAULTS.minPersonScore;
    const people = (await this.runPose(img, side)).filter((p) => p.score >= minScore);
    if (opts.refine ?? true) {
      for (let i = 0; i < people.length; i++) {
        throwIfAborted(opts.signal);
        people[i] = await this.refine(img, people[i], side);
      }
    }
    return people.sort((a, b) => b.score - a.score);
  }

  /** One MoveNet run on the whole image; every slot of the output, in image pixels. */
  private async runPose(img: RgbImage, side: number): Promise<CocoPerson[]> {
    const s = side / Math.max(img.width, img.height);
    const inW = Math.max(32, Math.ceil((img.width * s) / 32) * 32);
    const inH = Math.max(32, Math.ceil((img.height * s) / 32) * 32);
    const lb = await letterbox(img, inW, inH);
    const heads = await this.pose.run({
      input: { type: 'int32', data: Int32Array.from(lb.rgb.data), dims: [1, inH, inW, 3] },
    });
    const f = (name: string) => heads[name].data as Float32Array;
    const d = decodeMoveNet({
      height: inH / 4,
      width: inW / 4,
      center: f('center'),
      keypointHeatmap: f('keypoint_heatmap'),
      keypointRegress: f('keypoint_regress'),
      keypointOffset: f('keypoint_offset'),
      boxScale: f('box_scale'),
      boxOffset: f('box_offset'),
    });
    const toX = (v: number) => (v * inW - lb.offX) / lb.scale;
    const toY = (v: number) => (v * inH - lb.offY) / lb.scale;
    const clampX = (v: number) => Math.max(0, Math.min(img.width, v));
    const clampY = (v: number) => Math.max(0, Math.min(img.height, v));
    const people: CocoPerson[] = [];
    for (let p = 0; p < d.length / 56; p++) {
      const o = p * 56;
      const keypoints: Keypoint[] = [];
      for (let k = 0; k < 17; k++)
        keypoints.push([toX(d[o + k * 3 + 1]), toY(d[o + k * 3]), d[o + k * 3 + 2]]);
      people.push({
        box: [clampX(toX(d[o + 52])), clampY(toY(d[o + 51])), clampX(toX(d[o + 54])), clampY(toY(d[o + 53]))],
        score: d[o + 55],
        keypoints,
      });
    }
    return people;
  }

  /**
   * The person again, in a square crop 1.25 times its box (black outside the photo): at the
   * model's input size the person then fills the frame. The crop's person overlapping the box
   * most replaces the first estimate; the first estimate stays when none does.
   */
  private async refine(img: RgbImage, person: CocoPerson, side: number): Promise<CocoPerson> {
    const [x1, y1, x2, y2] = person.box;
    const size = Math.max(8, Math.round(Math.max(x2 - x1, y2 - y1) * REFINE_MARGIN));
    const ox = Math.round((x1 + x2) / 2 - size / 2);
    const oy = Math.round((y1 + y2) / 2 - size / 2);
    const crop: RgbImage = { width: size, height: size, data: new Uint8Array(size * size * 3) };
    for (let y = 0; y < size; y++) {
      const sy = y + oy;
      if (sy < 0 || sy >= img.height) continue;
      const from = Math.max(0, -ox);
      const to = Math.min(size, img.width - ox);
      if (to <= from) continue;
      crop.data.set(
        img.data.subarray((sy * img.width + ox + from) * 3, (sy * img.width + ox + to) * 3),
        (y * size + from) * 3,
      );
    }
    let best: CocoPerson | undefined;
    let bestOverlap = REFINE_MIN_IOU;
    for (const c of await this.runPose(crop, side)) {
      const box: Box = [c.box[0] + ox, c.box[1] + oy, c.box[2] + ox, c.box[3] + oy];
      const o = iou(box, person.box);
      if (o >= bestOverlap && c.score >= person.score * 0.5) {
        bestOverlap = o;
        best = {
          box: [
            Math.max(0, box[0]),
            Math.max(0, box[1]),
            Math.min(img.width, box[2]),
            Math.min(img.height, box[3]),
          ],
          score: person.score,
          keypoints: c.keypoints.map(([x, y, s]) => [x + ox, y + oy, s] as Keypoint),
        };
      }
    }
    return best ?? person;
  }

  /**
   * Person probability (0..1) for every pixel of the photo. The whole photo is segmented
   * letterboxed (its aspect kept); with people's boxes (from detectPeople), each person is also
   * segmented in a crop 1.2 times its box, squeezed to the model's square input as MediaPipe
   * feeds it, and the highest probability wins. On a full-body photo this measured IoU 0.89
   * against a hand-drawn mask; the whole photo squeezed alone 0.62 (the selfie model bleeds into
   * the ground when the person is small in the frame), letterboxed alone 0.78 (thin limbs lost),
   * the crops alone 0.89 (docs/tryon-and-pose.md).
   */
  async segmentPeople(
    img: RgbImage,
    opts: { boxes?: readonly Box[]; signal?: AbortSignal } = {},
  ): Promise<Mask> {
    throwIfAborted(opts.signal);
    // The model sees 256 × 256 at most, so big photos are combined at up to 1024 px and the
    // result resampled once: the same mask for a fraction of the per-pixel work.
    const k = Math.min(1, SEG_WORK_SIZE / Math.max(img.width, img.height));
    if (k < 1) {
      const w = Math.max(1, Math.round(img.width * k));
      const h = Math.max(1, Math.round(img.height * k));
      const small = await resizeRgb(img, w, h);
      const boxes = (opts.boxes ?? []).map(
        (b) =>
          [
            b[0] * (w / img.width),
            b[1] * (h / img.height),
            b[2] * (w / img.width),
            b[3] * (h / img.height),
          ] as Box,
      );
      const m = await this.combine(small, boxes, opts.signal);
      return mapToPhoto(
        m.data,
        w,
        h,
        { scale: w / img.width, scaleY: h / img.height, offX: 0, offY: 0 },
        img.width,
        img.height,
      );
    }
    return this.combine(img, opts.boxes ?? [], opts.signal);
  }

  /**
   * The letterboxed whole plus the per-person crops, highest probability wins; enclosed holes
   * under 0.2% of the picture (a logo, a shadow on the shirt) are filled.
   */
  private async combine(img: RgbImage, boxes: readonly Box[], signal?: AbortSignal): Promise<Mask> {
    const out = await this.segmentRegion(img, 'letterbox');
    for (const [x1, y1, x2, y2] of boxes) {
      throwIfAborted(signal);
      const cx = (x1 + x2) / 2;
      const cy = (y1 + y2) / 2;
      const left = Math.max(0, Math.round(cx - ((x2 - x1) * SEG_MARGIN) / 2));
      const top = Math.max(0, Math.round(cy - ((y2 - y1) * SEG_MARGIN) / 2));
      const right = Math.min(img.width, Math.round(cx + ((x2 - x1) * SEG_MARGIN) / 2));
      const bottom = Math.min(img.height, Math.round(cy + ((y2 - y1) * SEG_MARGIN) / 2));
      if (right - left < 4 || bottom - top < 4) continue;
      const part = await this.segmentRegion(
        extractRgb(img, left, top, right - left, bottom - top),
        'squeeze',
      );
      for (let y = 0; y < part.height; y++) {
        const row = (y + top) * img.width + left;
        for (let x = 0; x < part.width; x++) {
          const v = part.data[y * part.width + x];
          if (v > out.data[row + x]) out.data[row + x] = v;
        }
      }
    }
    const filled = fillHoles(binarize(out), img.width * img.height * 0.002);
    for (let i = 0; i < out.data.length; i++) if (filled.data[i] > out.data[i]) out.data[i] = 1;
    return out;
  }

  /** The model on one image (squeezed to its 256 × 256 input, or letterboxed); the map resampled back. */
  private async segmentRegion(img: RgbImage, fit: 'squeeze' | 'letterbox'): Promise<Mask> {
    const lb =
      fit === 'letterbox'
        ? await letterbox(img, SEG_SIZE, SEG_SIZE)
        : {
            rgb: await resizeRgb(img, SEG_SIZE, SEG_SIZE),
            scale: SEG_SIZE / img.width,
            scaleY: SEG_SIZE / img.height,
            offX: 0,
            offY: 0,
          };
    const x = new Float32Array(SEG_SIZE * SEG_SIZE * 3);
    for (let i = 0; i < x.length; i++) x[i] = lb.rgb.data[i] / 255;
    const out = await this.seg.run({
      input_1: { type: 'float32', data: x, dims: [1, SEG_SIZE, SEG_SIZE, 3] },
    });
    return mapToPhoto(out.activation_10.data as Float32Array, SEG_SIZE, SEG_SIZE, lb, img.width, img.height);
  }

  async dispose(): Promise<void> {
    await this.pose.dispose();
    await this.seg.dispose();
  }
}
