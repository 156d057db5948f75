/**
 * The basic animator on a real portrait: the frames it streams, that only the face region
 * changes when the head is still, determinism, cancellation and refusals. The mouth and identity
 * are measured on the encoded video in e2e.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, InputError } from '../../base/errors.ts';
import { config } from '../../core/config.ts';
import { FaceAnalyzer } from '../../core/face/index.ts';
import { convexHull } from '../../core/fusion/mask.ts';
import type { Point } from '../../core/image/warp.ts';
import { BasicEngine } from '../../core/talk/basic.ts';
import { talkCrop } from '../../core/talk/crop.ts';
import { ModelStore } from '../../models/store.ts';
import { collect, type Portrait, portrait, syntheticSpeech } from './helpers.ts';

let analyzer: FaceAnalyzer;
let p: Portrait;
const audio = syntheticSpeech(4);

beforeAll(async () => {
  analyzer = await FaceAnalyzer.load(new ModelStore(config().modelsDir), { threads: 1 });
  p = await portrait(analyzer);
});

afterAll(async () => {
  await analyzer?.dispose();
});

/** 1 for pixels outside the 68-point hull grown by `k` about its centre (crop coordinates). */
function outsideMask(landmarks: readonly Point[], size: number, k: number): Uint8Array {
  const hull = convexHull(landmarks);
  const cx = hull.reduce((s, q) => s + q[0], 0) / hull.length;
  const cy = hull.reduce((s, q) => s + q[1], 0) / hull.length;
  const poly = hull.map(([x, y]) => [cx + k * (x - cx), cy + k * (y - cy)] as const);
  const out = new Uint8Array(size * size);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      let inside = false;
      for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
        const [xi, yi] = poly[i]!;
        const [xj, yj] = poly[j]!;
        if (yi > y !== yj > y && x < xi + ((y - yi) * (xj - xi)) / (yj - yi)) inside = !inside;
      }
      out[y * size + x] = inside ? 0 : 1;
    }
  return out;
}

describe('basic animator', () => {
  it('streams one 512x512 RGB frame per 40 ms of speech; with the head still only the face region changes', async () => {
    const engine = new BasicEngine();
    const anim = await engine.animate({
      portrait: p.image,
      landmarks: p.face.landmarks,
      audio,
      headMotion: false,
    });
    expect(anim).toMatchObject({ engine: 'basic', width: 512, height: 512, fps: 25, frameCount: 100 });
    const crop = talkCrop(p.image, p.face.landmarks, 512);
    const outside = outsideMask(crop.landmarks, 512, 1.3);
    let outsideCount = 0;
    for (const v of outside) outsideCount += v;
    // The region is a minority of the frame: most pixels are checked.
    expect(outsideCount).toBeGreaterThan(0.5 * 512 * 512);
    let frames = 0;
    let maxInside = 0;
    for await (const f of anim.frames) {
      expect(f).toHaveLength(512 * 512 * 3);
      for (let i = 0; i < 512 * 512; i++) {
        if (!outside[i]) {
          maxInside = Math.max(maxInside, Math.abs(f[3 * i]! - crop.image.data[3 * i]!));
          continue;
        }
        if (
          f[3 * i] !== crop.image.data[3 * i] ||
          f[3 * i + 1] !== crop.image.data[3 * i + 1] ||
          f[3 * i + 2] !== crop.image.data[3 * i + 2]
        )
          throw new Error(
            `frame ${frames}: pixel (${i % 512}, ${Math.floor(i / 512)}) outside the face changed`,
          );
      }
      frames++;
    }
    expect(frames).toBe(100);
    // ...and the face itself does move (the mouth opens dark).
    expect(maxInside).toBeGreaterThan(80);
  });

  it('is deterministic for a seed; head motion moves the surroundings slightly', async () => {
    const run = async (seed: number) =>
      collect(
        (
          await new BasicEngine().animate({
            portrait: p.image,
            landmarks: p.face.landmarks,
            audio: syntheticSpeech(2),
            seed,
          })
        ).frames,
      );
    const a = await run(5);
    const b = await run(5);
    const c = await run(6);
    expect(a.every((f, i) => Buffer.from(f).equals(Buffer.from(b[i]!)))).toBe(true);
    expect(a.some((f, i) => !Buffer.from(f).equals(Buffer.from(c[i]!)))).toBe(true);
    // Head motion: the hair above the face (outside the still region) moves, by a few pixels at most.
    const crop = talkCrop(p.image, p.face.landmarks, 512);
    const outside = outsideMask(crop.landmarks, 512, 1.3);
    const last = a[a.length - 1]!;
    let changed = 0;
    let sum = 0;
    for (let i = 0; i < 512 * 512; i++) {
      if (!outside[i]) continue;
      const d = Math.abs(last[3 * i]! - crop.image.data[3 * i]!);
      if (d > 0) changed++;
      sum += d;
    }
    expect(changed).toBeGreaterThan(1000);
    expect(sum / (512 * 512)).toBeLessThan(10);
  });

  it('stops with CancelledError when its signal aborts, between frames', async () => {
    const ac = new AbortController();
    const anim = await new BasicEngine().animate({
      portrait: p.image,
      landmarks: p.face.landmarks,
      audio,
      signal: ac.signal,
      onProgress: (f) => {
        if (f >= 0.1) ac.abort();
      },
    });
    let n = 0;
    await expect(
      (async () => {
        for await (const _ of anim.frames) n++;
      })(),
    ).rejects.toBeInstanceOf(CancelledError);
    expect(n).toBe(10);
  });

  it('refuses empty or over-long audio, bad landmarks and odd sizes with specific errors', async () => {
    const e = new BasicEngine();
    const base = { portrait: p.image, landmarks: p.face.landmarks, audio };
    const code = async (input: Parameters<BasicEngine['animate']>[0]) =>
      e.animate(input).then(
        () => 'ok',
        (err) => (err instanceof InputError ? err.code : String(err)),
      );
    expect(await code({ ...base, audio: { samples: new Float32Array(0), sampleRate: 16000 } })).toBe(
      'empty_audio',
    );
    expect(await code({ ...base, audio: { samples: new Float32Array(8000 * 601), sampleRate: 8000 } })).toBe(
      'audio_too_long',
    );
    expect(await code({ ...base, landmarks: p.face.landmarks.slice(0, 5) })).toBe('bad_landmarks');
    expect(await code({ ...base, size: 511 })).toBe('bad_video_size');
    expect(await code({ ...base, fps: 0 })).toBe('bad_fps');
    expect(await code({ ...base, audio: { samples: new Float32Array(10), sampleRate: Number.NaN } })).toBe(
      'bad_audio',
    );
  });
});
