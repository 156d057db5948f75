/**
 * TensorFlow.js (WebAssembly backend) against ONNX Runtime on the same body models: the selfie
 * segmentation network, and MoveNet MultiPose (TensorFlow.js: the whole published graph; ONNX:
 * the trunk converted by models/tfjs-convert.ts + the TypeScript decoder). Prints milliseconds
 * per run (one thread each) and how far the outputs differ, which is what decided the runtime
 * (docs/DECISIONS.md, "Body pose and segmentation"). TensorFlow.js is a dev dependency, here and
 * in test/pose/convert.test.ts only.
 * Run: node bin/run-ts.js bench/pose-runtimes.ts [rounds]
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { config } from '../core/config.ts';
import { decodeImage } from '../core/image/codec.ts';
import { letterbox } from '../core/pose/input.ts';
import { decodeMoveNet } from '../core/pose/movenet-decode.ts';
import { OnnxSession } from '../models/onnx.ts';
import { ModelStore } from '../models/store.ts';
import { tfjsToOnnx } from '../models/tfjs-convert.ts';
import { TfjsGraph } from '../test/pose/tfjs-reference.ts';
import { timeRuns } from './lib/timing.ts';

const rounds = Number(process.argv[2] ?? 10);
const store = new ModelStore(config().modelsDir);
const img = await decodeImage(readFileSync('test/fixtures/faces/messi5.jpg'));
const lb = await letterbox(img, 256, 256);

function median(ms: number[]): number {
  const s = [...ms].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  return median(await timeRuns(fn, rounds));
}

console.log(
  `pose runtimes: ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? 'unknown cpu'}), node ${process.version}, ${rounds} rounds, one thread each, 256x256 input`,
);

// Selfie segmentation: the whole network on both runtimes.
{
  const json = await store.path('body-segment', 'selfie.json');
  await store.path('body-segment', 'selfie.bin');
  const t0 = performance.now();
  const bytes = tfjsToOnnx(json, {
    inputShape: [1, 256, 256, 3],
    outputs: [{ node: 'activation_10', name: 'activation_10' }],
  });
  const convertMs = performance.now() - t0;
  const tf = await TfjsGraph.load(json);
  const ort = await OnnxSession.create(bytes, { threads: 1, name: 'selfie (onnx)' });
  const x = Float32Array.from(lb.rgb.data, (v) => v / 255);
  const feed = { type: 'float32' as const, data: x, dims: [1, 256, 256, 3] };
  const [a] = await tf.run(feed);
  const b = (await ort.run({ input_1: feed })).activation_10;
  let maxDiff = 0;
  let flips = 0;
  const da = a.data as Float32Array;
  const db = b.data as Float32Array;
  for (let i = 0; i < da.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(da[i] - db[i]));
    if (da[i] >= 0.5 !== db[i] >= 0.5) flips++;
  }
  const tfMs = await time(() => tf.run(feed));
  const ortMs = await time(() => ort.run({ input_1: feed }));
  console.log(
    `  selfie segmentation: tfjs-wasm ${tfMs.toFixed(1)} ms, onnxruntime ${ortMs.toFixed(1)} ms (${(tfMs / ortMs).toFixed(1)}x); ` +
      `max |difference| ${maxDiff.toExponential(2)}, mask pixels that flip ${flips} of ${da.length}; conversion ${convertMs.toFixed(0)} ms`,
  );
  tf.dispose();
  await ort.dispose();
}

// MoveNet MultiPose: TensorFlow.js runs the whole published graph (trunk + in-graph decoding);
// ONNX Runtime runs the trunk up to its six heads and decodeMoveNet the rest.
{
  const json = await store.path('body-pose', 'movenet-multipose.json');
  await store.path('body-pose', 'movenet-multipose.bin');
  const heads = [
    ['StatefulPartitionedCall/Sigmoid', 'center'],
    ['StatefulPartitionedCall/Sigmoid_1', 'keypoint_heatmap'],
    ['StatefulPartitionedCall/kpt_regress_0/conv2d_8/BiasAdd', 'keypoint_regress'],
    ['StatefulPartitionedCall/kpt_offset_0/conv2d_9/BiasAdd', 'keypoint_offset'],
    ['StatefulPartitionedCall/box_scale_0/conv2d_5/BiasAdd', 'box_scale'],
    ['StatefulPartitionedCall/box_offset_0/conv2d_6/BiasAdd', 'box_offset'],
  ].map(([node, name]) => ({ node, name }));
  const t0 = performance.now();
  const bytes = tfjsToOnnx(json, {
    inputShape: [1, 'height', 'width', 3],
    inputType: 'int32',
    outputs: heads,
  });
  const convertMs = performance.now() - t0;
  const tf = await TfjsGraph.load(json);
  const ort = await OnnxSession.create(bytes, { threads: 1, name: 'movenet (onnx)', memPattern: false });
  const feed = { type: 'int32' as const, data: Int32Array.from(lb.rgb.data), dims: [1, 256, 256, 3] };
  const onnx = async () => {
    const o = await ort.run({ input: feed });
    const f = (n: string) => o[n].data as Float32Array;
    return decodeMoveNet({
      height: 64,
      width: 64,
      center: f('center'),
      keypointHeatmap: f('keypoint_heatmap'),
      keypointRegress: f('keypoint_regress'),
      keypointOffset: f('keypoint_offset'),
      boxScale: f('box_scale'),
      boxOffset: f('box_offset'),
    });
  };
  const ref = (await tf.run(feed))[0].data as Float32Array;
  const got = await onnx();
  let maxDiff = 0;
  for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i] - got[i]));
  const tfMs = await time(() => tf.run(feed));
  const ortMs = await time(onnx);
  console.log(
    `  MoveNet MultiPose: tfjs-wasm ${tfMs.toFixed(1)} ms, onnxruntime + TypeScript decoding ${ortMs.toFixed(1)} ms (${(tfMs / ortMs).toFixed(1)}x); ` +
      `max |difference| of the 6 x 56 outputs ${maxDiff.toExponential(2)}; conversion ${convertMs.toFixed(0)} ms`,
  );
  tf.dispose();
  await ort.dispose();
}
console.log(
  `  load average at end: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
