/**
 * One face analyzer per thread, loaded on first use from the model store. A failed load is not
 * kept, so the next job tries again (e.g. after `facechain models fetch`).
 */
import { throwIfAborted } from '../../base/errors.ts';
import { ModelStore } from '../../models/store.ts';
import { config } from '../config.ts';
import { FaceAnalyzer } from './analyzer.ts';

let analyzer: Promise<FaceAnalyzer> | undefined;

export function sharedAnalyzer(): Promise<FaceAnalyzer> {
  analyzer ??= FaceAnalyzer.load(new ModelStore(config().modelsDir), {
    threads: config().FACECHAIN_ORT_THREADS,
  });
  analyzer.catch(() => {
    analyzer = undefined;
  });
  return analyzer;
}

/** The first stage of every pipeline that looks at faces: report it, load, stop if cancelled. */
export async function analyzerForTask(task: {
  progress(stage: string, percent: number): void;
  signal: AbortSignal;
}): Promise<FaceAnalyzer> {
  task.progress('load-models', 0);
  const analyzer = await sharedAnalyzer();
  throwIfAborted(task.signal);
  return analyzer;
}
