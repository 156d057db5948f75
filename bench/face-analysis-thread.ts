/** Worker-thread side of bench/face-analysis.ts: one FaceAnalyzer (1 ORT thread) per thread. */
import { parentPort } from 'node:worker_threads';
import { config } from '../core/config.ts';
import { FaceAnalyzer } from '../core/face/analyzer.ts';
import { ModelStore } from '../models/store.ts';

const analyzer = await FaceAnalyzer.load(new ModelStore(config().modelsDir), { threads: 1 });
parentPort!.on('message', async (msg: { id: number; bytes: Uint8Array } | 'stop') => {
  if (msg === 'stop') {
    await analyzer.dispose();
    parentPort!.close();
    return;
  }
  const t0 = performance.now();
  const a = await analyzer.analyze(msg.bytes, { embedding: true });
  parentPort!.postMessage({ id: msg.id, ms: performance.now() - t0, faces: a.faces.length });
});
parentPort!.postMessage('ready');
