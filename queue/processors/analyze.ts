/**
 * analyze: one photo → faces with pose, eyes, sharpness, age/gender and (optionally) the
 * identity embedding. Runs in a worker thread; the analyzer is loaded once per thread.
 * The full report (with embeddings: biometric data) is stored as an artifact of the user; the
 * job result keeps only its ref and a short summary.
 */

import { throwIfAborted } from '../../base/errors.ts';
import { config } from '../../core/config.ts';
import { FaceAnalyzer } from '../../core/face/index.ts';
import type { ImageAnalysis } from '../../core/face/types.ts';
import { ModelStore } from '../../models/store.ts';
import type { JobResult } from '../jobs.ts';
import type { ProcessorContext } from '../processor.ts';

let analyzer: Promise<FaceAnalyzer> | undefined;

export function sharedAnalyzer(): Promise<FaceAnalyzer> {
  analyzer ??= FaceAnalyzer.load(new ModelStore(config().modelsDir), {
    threads: config().FACECHAIN_ORT_THREADS,
  });
  analyzer.catch(() => {
    analyzer = undefined; // let the next job try again (e.g. after "models fetch")
  });
  return analyzer;
}

/** JSON form of an analysis (typed arrays become plain arrays). */
export function analysisJson(a: ImageAnalysis): unknown {
  return {
    ...a,
    faces: a.faces.map((f) => ({ ...f, embedding: f.embedding ? Array.from(f.embedding) : undefined })),
  };
}

export function summarise(a: ImageAnalysis): string {
  if (a.faces.length === 0) return 'No face found in this photo.';
  const f = a.faces[0];
  const more = a.faces.length > 1 ? ` (${a.faces.length} faces; the largest is described)` : '';
  return (
    `Found ${a.faces.length} face(s)${more}: about ${Math.round(f.age)} years, ${f.gender}, ` +
    `yaw ${Math.round(f.pose.yaw)}°, eyes ${f.eyesOpen ? 'open' : 'closed'}, face ${Math.round(f.size)} px.`
  );
}

export async function analyzeJob(ctx: ProcessorContext<'analyze'>): Promise<JobResult<'analyze'>> {
  ctx.progress('load-models', 0);
  const a = await sharedAnalyzer();
  throwIfAborted(ctx.signal);
  ctx.progress('read', 10);
  const bytes = await ctx.artifacts.read(ctx.data.photo);
  ctx.progress('analyze', 20);
  const result = await a.analyze(bytes, { embedding: ctx.data.embedding, signal: ctx.signal });
  throwIfAborted(ctx.signal);
  ctx.progress('store', 90);
  const report = await ctx.artifacts.put(ctx.data.user, Buffer.from(JSON.stringify(analysisJson(result))), {
    ext: 'json',
  });
  ctx.progress('done', 100);
  return { faces: result.faces.length, report: report.ref, summary: summarise(result) };
}
