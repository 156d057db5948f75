/** The 512-d identity embedding on the aligned 112x112 crop, and comparing embeddings. */
import type { OnnxSession } from '../../models/onnx.ts';
import { rgbToChw } from './tensor.ts';

export async function embedAligned(session: OnnxSession, rgb112: Uint8Array): Promise<Float32Array> {
  const out = await session.run({
    input: {
      type: 'float32',
      data: rgbToChw(rgb112, 112 * 112, [127, 127, 127], [128, 128, 128]),
      dims: [1, 3, 112, 112],
    },
  });
  return l2normalize(Float32Array.from(out.output!.data as Float32Array));
}

export function l2normalize(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

/** Cosine similarity (embeddings need not be normalised). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cosine: lengths differ (${a.length} vs ${b.length})`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / (Math.sqrt(na * nb) || 1);
}

/** Mean of embeddings, re-normalised (an identity's centre). */
export function meanEmbedding(list: readonly Float32Array[]): Float32Array {
  if (!list.length) throw new Error('meanEmbedding: empty list');
  const out = new Float32Array(list[0]!.length);
  for (const e of list) for (let i = 0; i < out.length; i++) out[i]! += e[i]!;
  return l2normalize(out);
}
