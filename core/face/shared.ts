/**
 * One face analyzer per thread, loaded on first use from the model store. A failed load is not
 * kept, so the next job tries again (e.g. after `facechain models fetch`).
 */
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
