import { describe, expect, it } from 'vitest';
import { cosineSimilarity, type RankableFace, selectCandidates } from '../../core/rank/select.ts';

function unit(...v: number[]): Float32Array {
  const n = Math.hypot(...v);
  return Float32Array.from(v.map((x) => x / n));
}

const face = (size: number, emb?: Float32Array): RankableFace => ({
  box: [10, 20, 10 + size, 20 + size * 0.9],
  embedding: emb,
});

describe('candidate filter and ranking', () => {
  const template = unit(1, 0, 0);

  it('keeps exactly-one-face candidates of 120-300 px, best cosine first, top N', () => {
    const candidates: RankableFace[][] = [
      [face(200, unit(0.5, 1, 0))], // kept, cos 0.447
      [], // no face
      [face(200, unit(1, 0.1, 0)), face(150, unit(1, 0, 0))], // two faces
      [face(120, unit(1, 0, 0))], // exactly 120: too small (strict, as FaceChain)
      [face(300, unit(1, 0, 0))], // exactly 300: too large
      [face(250, unit(1, 0.2, 0))], // kept, cos 0.98
      [face(130, unit(-1, 0, 0))], // kept, cos -1
      [face(180)], // kept, no embedding -> 0
    ];
    const r = selectCandidates(candidates, template, { topN: 3 });
    expect(r.kept.map((k) => k.index)).toEqual([5, 0, 7]);
    expect(r.kept[0].score).toBeCloseTo(1 / Math.hypot(1, 0.2), 6);
    expect(r.kept[2].score).toBe(0);
    expect(r.surplus.map((k) => k.index)).toEqual([6]);
    expect(r.rejected).toEqual([
      { index: 1, reason: 'no_face', faces: 0 },
      { index: 2, reason: 'several_faces', faces: 2 },
      { index: 3, reason: 'face_too_small', faces: 1, faceSize: 120 },
      { index: 4, reason: 'face_too_large', faces: 1, faceSize: 300 },
    ]);
  });

  it('honours configured bounds', () => {
    const r = selectCandidates([[face(100, template)], [face(400, template)]], template, {
      minFace: 50,
      maxFace: 500,
    });
    expect(r.kept.map((k) => k.index)).toEqual([0, 1]);
    expect(r.rejected).toEqual([]);
    // An option given as undefined falls back to its default.
    const d = selectCandidates([[face(100, template)]], template, { minFace: undefined, topN: undefined });
    expect(d.rejected[0].reason).toBe('face_too_small');
  });

  it('refuses nonsense options and mismatched embeddings with clear errors', () => {
    expect(() => selectCandidates([], template, { minFace: 300, maxFace: 100 })).toThrow(/min < max/);
    expect(() => selectCandidates([], template, { topN: 0 })).toThrow(/at least 1/);
    expect(() => cosineSimilarity(unit(1, 0), template)).toThrow(/differ in length/);
  });
});
