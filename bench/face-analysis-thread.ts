/**
 * Worker-thread side of bench/face-analysis.ts: one FaceAnalyzer (1 ONNX thread) per thread,
 * and, once asked, the floor: decode plus the same model runs on prebuilt tensors (or the model
 * runs alone).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { config } from '../core/config.ts';
import { FaceAnalyzer } from '../core/face/analyzer.ts';
import { ModelStore } from '../models/store.ts';
import { FloorRunner } from './face-analysis-floor.ts';

const store = new ModelStore(config().modelsDir);
const analyzer = await FaceAnalyzer.load(store, { threads: workerData.ortThreads ?? 1 });
let floor: FloorRunner | undefined;

type Msg =
  | { kind: 'pipeline'; id: number; bytes: Uint8Array }
  | { kind: 'floor' | 'models'; id: number; bytes: Uint8Array; runs: [string, number][] }
  | { kind: 'stop' };

parentPort!.on('message', async (msg: Msg) => {
  if (msg.kind === 'stop') {
    await analyzer.dispose();
    await floor?.dispose();
    parentPort!.close();
    return;
  }
  const t0 = performance.now();
  let faces = 1;
  if (msg.kind === 'pipeline') {
    faces = (await analyzer.analyze(msg.bytes, { embedding: true })).faces.length;
  } else {
    floor ??= await FloorRunner.load(store, workerData.ortThreads ?? 1);
    await floor.run(msg.bytes, new Map(msg.runs), msg.kind === 'floor');
  }
  parentPort!.postMessage({ id: msg.id, ms: performance.now() - t0, faces });
});
parentPort!.postMessage('ready');
