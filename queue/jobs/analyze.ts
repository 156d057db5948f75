/**
 * analyze: one photo → faces with pose, eyes, sharpness, age/gender and (optionally) the
 * identity embedding. The full report (with embeddings: biometric data) is stored as an artifact
 * of the user; the result keeps only its ref and a short summary.
 */
import { z } from 'zod';
import { throwIfAborted } from '../../base/errors.ts';
import type { ImageAnalysis } from '../../core/face/types.ts';
import { artifactRef } from '../reply.ts';
import { baseData, defineJob, inThread, type ProcessorContext } from './define.ts';

const data = baseData.extend({ photo: artifactRef, embedding: z.boolean().default(false) });
const result = z.object({ faces: z.number().int(), report: artifactRef, summary: z.string() });

export const analyze = defineJob({
  name: 'analyze',
  queue: 'cpu',
  data,
  result,
  feature: { name: 'Photo analysis', howToEnable: 'Start a worker that serves the cpu queue.' },
  reply: (r) => ({ text: r.summary, images: [] }),
  processor: () => inThread(import.meta.url),
});

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

/** Runs in a worker thread (core is imported there, not where the job table is read). */
export async function process(ctx: ProcessorContext<z.infer<typeof data>>): Promise<z.infer<typeof result>> {
  const { analyzerForTask } = await import('../../core/face/shared.ts');
  const a = await analyzerForTask(ctx);
  ctx.progress('read', 10);
  const bytes = await ctx.artifacts.read(ctx.data.photo);
  ctx.progress('analyze', 20);
  const found = await a.analyze(bytes, { embedding: ctx.data.embedding, signal: ctx.signal });
  throwIfAborted(ctx.signal);
  ctx.progress('store', 90);
  const report = await ctx.artifacts.put(ctx.data.user, Buffer.from(JSON.stringify(analysisJson(found))), {
    ext: 'json',
  });
  ctx.progress('done', 100);
  return { faces: found.faces.length, report: report.ref, summary: summarise(found) };
}
