/**
 * TensorFlow.js (WebAssembly backend) against ONNX Runtime on the same body models: the selfie
 * segmentation network and MoveNet MultiPose's convolutional trunk, converted by
 * bench/tfjs-to-onnx.ts. Prints milliseconds per run (one thread each) and how far the outputs
 * differ, which is what decided the runtime (docs/DECISIONS.md, "Body pose and segmentation").
 * Run: node bin/run-ts.js bench/pose-runtimes.ts [rounds]
 */
import os from 'node:os';
import { config } from '../core/config.ts';
import { decodeImage } from '../core/image/codec.ts';
import { letterbox } from '../core/pose/input.ts';
import { OnnxSession } from '../models/onnx.ts';
import { ModelStore } from '../models/store.ts';
import { TfjsGraph } from '../models/tfjs.ts';
import { tfjsToOnnx } from './tfjs-to-onnx.ts';
import { readFileSync } from 'node:fs';

const rounds = Number(process.argv[2] ?? 10);
const store = new ModelStore(config().modelsDir);
const img = await decodeImage(readFileSync('test/fixtures/faces/messi5.jpg'));
const lb = await letterbox(img, 256, 256);

function median(ms: number[]): number {
  const s = [...ms].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const ms: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

console.log(
  `pose runtimes: ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? 'unknown cpu'}), node ${process.version}, ${rounds} rounds, one thread each, 256x256 input`,
);

// Selfie segmentation: the whole network on both runtimes.
{
  const json = await store.path('body-segment', 'selfie.json');
  await store.path('body-segment', 'selfie.bin');
  const t0 = performance.now();
  const bytes = tfjsToOnnx(json, { inputShape: [1, 256, 256, 3], outputs: ['activation_10'] });
  const convertMs = performance.now() - t0;
  const tf = await TfjsGraph.load(json);
  const ort = await OnnxSession.create(bytes, { threads: 1, name: 'selfie (onnx)' });
  const x = Float32Array.from(lb.rgb.data, (v) => v / 255);
  const feed = { type: 'float32' as const, data: x, dims: [1, 256, 256, 3] };
  const [a] = await tf.run(feed);
  const b = (await ort.run({ input: feed })).out_0;
  let maxDiff = 0;
  let flips = 0;
  const da = a.data as Float32Array;
  const db = b.data as Float32Array;
  for (let i = 0; i < da.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(da[i] - db[i]));
    if (da[i] >= 0.5 !== db[i] >= 0.5) flips++;
  }
  const tfMs = await time(() => tf.run(feed));
  const ortMs = await time(() => ort.run({ input: feed }));
  console.log(
    `  selfie segmentation: tfjs-wasm ${tfMs.toFixed(1)} ms, onnxruntime ${ortMs.toFixed(1)} ms (${(tfMs / ortMs).toFixed(1)}x); ` +
      `max |difference| ${maxDiff.toExponential(2)}, mask pixels that flip ${flips} of ${da.length}; conversion ${convertMs.toFixed(0)} ms`,
  );
  tf.dispose();
  await ort.dispose();
}

// MoveNet MultiPose: TensorFlow.js runs the whole graph (trunk + in-graph decoding); ONNX gets
// the trunk up to its six heads (the decoding would be TypeScript, a few ms).
{
  const json = await store.path('body-pose', 'movenet-multipose.json');
  await store.path('body-pose', 'movenet-multipose.bin');
  const heads = [
    'StatefulPartitionedCall/Sigmoid',
    'StatefulPartitionedCall/Sigmoid_1',
    'StatefulPartitionedCall/kpt_regress_0/conv2d_8/BiasAdd',
    'StatefulPartitionedCall/kpt_offset_0/conv2d_9/BiasAdd',
    'StatefulPartitionedCall/box_scale_0/conv2d_5/BiasAdd',
    'StatefulPartitionedCall/box_offset_0/conv2d_6/BiasAdd',
  ];
  let line: string;
  try {
    const bytes = tfjsToOnnx(json, { inputShape: [1, 256, 256, 3], inputType: 'int32', outputs: heads });
    const tf = await TfjsGraph.load(json);
    const ort = await OnnxSession.create(bytes, { threads: 1, name: 'movenet trunk (onnx)' });
    const feed = { type: 'int32' as const, data: Int32Array.from(lb.rgb.data), dims: [1, 256, 256, 3] };
    const tfMs = await time(() => tf.run(feed));
    const ortMs = await time(() => ort.run({ input: feed }));
    line = `  MoveNet MultiPose: tfjs-wasm (whole graph) ${tfMs.toFixed(1)} ms, onnxruntime (trunk to the heads) ${ortMs.toFixed(1)} ms (${(tfMs / ortMs).toFixed(1)}x)`;
    tf.dispose();
    await ort.dispose();
  } catch (e) {
    line = `  MoveNet MultiPose: not converted (${(e as Error).message})`;
  }
  console.log(line);
}
console.log(
  `  load average at end: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
