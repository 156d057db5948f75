/**
 * The body models run converted to ONNX (models/tfjs-convert.ts) with MoveNet decoded in
 * TypeScript (core/pose/movenet-decode.ts): checked against the published graphs running on
 * TensorFlow.js itself (test/pose/tfjs-reference.ts, a dev dependency) on real photos at several input shapes.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../core/config.ts';
import { letterbox } from '../../core/pose/input.ts';
import { decodeMoveNet } from '../../core/pose/movenet-decode.ts';
import { OnnxSession } from '../../models/onnx.ts';
import { ModelStore } from '../../models/store.ts';
import { tfjsToOnnx } from '../../models/tfjs-convert.ts';
import { FACES, photo } from './helpers.ts';
import { TfjsGraph } from './tfjs-reference.ts';

const store = new ModelStore(config().modelsDir);
const HEADS = [
  ['StatefulPartitionedCall/Sigmoid', 'center'],
  ['StatefulPartitionedCall/Sigmoid_1', 'keypoint_heatmap'],
  ['StatefulPartitionedCall/kpt_regress_0/conv2d_8/BiasAdd', 'keypoint_regress'],
  ['StatefulPartitionedCall/kpt_offset_0/conv2d_9/BiasAdd', 'keypoint_offset'],
  ['StatefulPartitionedCall/box_scale_0/conv2d_5/BiasAdd', 'box_scale'],
  ['StatefulPartitionedCall/box_offset_0/conv2d_6/BiasAdd', 'box_offset'],
].map(([node, name]) => ({ node, name }));

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'fc-convert-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('TensorFlow.js graphs converted to ONNX', () => {
  it('selfie segmentation: the same probabilities as TensorFlow.js (within 1e-3), the same mask', async () => {
    const json = await store.path('body-segment', 'selfie.json');
    await store.path('body-segment', 'selfie.bin');
    const ort = await OnnxSession.create(
      tfjsToOnnx(json, { inputShape: [1, 256, 256, 3], outputs: [{ node: 'activation_10', name: 'p' }] }),
    );
    const tf = await TfjsGraph.load(json);
    try {
      for (const f of ['messi5.jpg', 'astronaut.png']) {
        const lb = await letterbox(await photo(`${FACES}/${f}`), 256, 256);
        const x = {
          type: 'float32' as const,
          data: Float32Array.from(lb.rgb.data, (v) => v / 255),
          dims: [1, 256, 256, 3],
        };
        const a = (await tf.run(x))[0].data as Float32Array;
        const b = (await ort.run({ input_1: x })).p.data as Float32Array;
        let max = 0;
        let flips = 0;
        for (let i = 0; i < a.length; i++) {
          max = Math.max(max, Math.abs(a[i] - b[i]));
          if (a[i] >= 0.5 !== b[i] >= 0.5) flips++;
        }
        expect(max, f).toBeLessThan(1e-3);
        expect(flips, f).toBeLessThanOrEqual(2);
      }
    } finally {
      tf.dispose();
      await ort.dispose();
    }
  });

  it('MoveNet MultiPose: trunk on ONNX + TypeScript decoding = the whole graph on TensorFlow.js', async () => {
    const json = await store.path('body-pose', 'movenet-multipose.json');
    await store.path('body-pose', 'movenet-multipose.bin');
    const ort = await OnnxSession.create(
      tfjsToOnnx(json, { inputShape: [1, 'height', 'width', 3], inputType: 'int32', outputs: HEADS }),
      { memPattern: false },
    );
    const tf = await TfjsGraph.load(json);
    try {
      // A wide photo, a group photo, a square one: three input shapes.
      for (const [f, w, h] of [
        ['messi5.jpg', 256, 160],
        ['sample4.jpg', 256, 224],
        ['astronaut.png', 256, 256],
      ] as const) {
        const lb = await letterbox(await photo(`${FACES}/${f}`), w, h);
        const x = { type: 'int32' as const, data: Int32Array.from(lb.rgb.data), dims: [1, h, w, 3] };
        const ref = (await tf.run(x))[0].data as Float32Array;
        const o = await ort.run({ input: x });
        const get = (n: string) => o[n].data as Float32Array;
        const got = decodeMoveNet({
          height: h / 4,
          width: w / 4,
          center: get('center'),
          keypointHeatmap: get('keypoint_heatmap'),
          keypointRegress: get('keypoint_regress'),
          keypointOffset: get('keypoint_offset'),
          boxScale: get('box_scale'),
          boxOffset: get('box_offset'),
        });
        expect(got).toHaveLength(ref.length);
        let max = 0;
        for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(ref[i] - got[i]));
        expect(max, f).toBeLessThan(1e-4);
      }
    } finally {
      tf.dispose();
      await ort.dispose();
    }
  });

  it('names an operator it does not cover, and refuses files that are not graph models', () => {
    const dir = path.join(tmp, 'odd');
    const model = {
      format: 'graph-model',
      modelTopology: {
        node: [
          { name: 'x', op: 'Placeholder' },
          { name: 'y', op: 'Erf', input: ['x'] },
        ],
      },
      weightsManifest: [{ paths: [], weights: [] }],
    };
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify(model));
    const e = (() => {
      try {
        tfjsToOnnx(path.join(dir, 'model.json'), {
          name: 'odd',
          inputShape: [1, 4, 4, 3],
          outputs: [{ node: 'y', name: 'y' }],
        });
      } catch (x) {
        return x as { code: string; message: string };
      }
    })();
    expect(e?.code).toBe('model_convert');
    expect(e?.message).toContain('Erf');
    writeFileSync(path.join(dir, 'layers.json'), JSON.stringify({ format: 'layers-model' }));
    expect(() => tfjsToOnnx(path.join(dir, 'layers.json'), { inputShape: [1], outputs: [] })).toThrow(
      /not a TensorFlow.js graph model/,
    );
  });
});
