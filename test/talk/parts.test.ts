/** The animator's parts on synthetic inputs: mesh warp, rig, speech shapes, loudness, motion, mel, alignment. */
import { describe, expect, it } from 'vitest';
import { delaunay } from '../../core/fusion/delaunay.ts';
import type { Point } from '../../core/image/warp.ts';
import { frameLevels, smooth, speechEnvelope } from '../../core/talk/envelope.ts';
import { magnitudes, melSpectrogram, melWindows, N_FFT, N_MELS } from '../../core/talk/mel.ts';
import { MeshWarp } from '../../core/talk/mesh-warp.ts';
import { BLINK_MAX_S, BLINK_MIN_S, buildMotion } from '../../core/talk/motion.ts';
import { pos, RECON_SIZE, reconAffine, STANDARD_FACE_5 } from '../../core/talk/recon-align.ts';
import { FaceRig, innerGap, MAX_DROP } from '../../core/talk/rig.ts';
import { repeatWindow, SEMANTICS, semanticsWindow, WINDOW } from '../../core/talk/sadtalker.ts';
import { phonemeShape, shapeTrack, visemeShape } from '../../core/talk/visemes.ts';
import { pearson, syntheticSpeech } from './helpers.ts';

function noiseImage(w: number, h: number, seed = 3) {
  const data = new Uint8Array(w * h * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width: w, height: h };
}

function grid(w: number, h: number, n: number): Point[] {
  const pts: Point[] = [];
  for (let y = 0; y <= n; y++) for (let x = 0; x <= n; x++) pts.push([(x * (w - 1)) / n, (y * (h - 1)) / n]);
  return pts;
}

/** A plausible frontal 68-point face centred in a 512 square (eyes 120 px apart). */
function syntheticFace(): Point[] {
  const pts: Point[] = [];
  // Jaw: a U from the right of the image's left ear round the chin.
  for (let i = 0; i < 17; i++) {
    const a = Math.PI * (i / 16);
    pts.push([256 - 150 * Math.cos(a), 230 + 170 * Math.sin(a)]);
  }
  for (let i = 0; i < 5; i++) pts.push([160 + i * 18, 170 - (i === 2 ? 8 : 4)]);
  for (let i = 0; i < 5; i++) pts.push([280 + i * 18, 170 - (i === 2 ? 8 : 4)]);
  for (let i = 0; i < 4; i++) pts.push([256, 200 + i * 20]);
  for (let i = 0; i < 5; i++) pts.push([232 + i * 12, 290]);
  const eye = (cx: number) => [
    [cx - 25, 210],
    [cx - 10, 202],
    [cx + 10, 202],
    [cx + 25, 210],
    [cx + 10, 216],
    [cx - 10, 216],
  ];
  for (const p of [...eye(196), ...eye(316)]) pts.push(p as unknown as Point);
  const outer = [
    [206, 340],
    [220, 330],
    [240, 325],
    [256, 327],
    [272, 325],
    [292, 330],
    [306, 340],
    [292, 355],
    [272, 362],
    [256, 363],
    [240, 362],
    [220, 355],
  ];
  const inner = [
    [214, 340],
    [240, 336],
    [256, 337],
    [272, 336],
    [298, 340],
    [272, 343],
    [256, 344],
    [240, 343],
  ];
  for (const p of [...outer, ...inner]) pts.push(p as unknown as Point);
  return pts;
}

describe('MeshWarp', () => {
  const img = noiseImage(97, 64);
  const pts = grid(97, 64, 6);
  const tris = Int32Array.from(delaunay(pts).flat());
  const src = Float64Array.from(pts.flat());

  it('reproduces the source byte for byte when nothing moves', () => {
    const out = new Uint8Array(img.data.length);
    new MeshWarp(img, src, tris).render(src, out);
    expect(Buffer.from(out).equals(Buffer.from(img.data))).toBe(true);
  });

  it('moves pixels by exactly a whole-pixel shift of the interior vertices', () => {
    // Interior vertices 3 px right: a pixel well inside the moved region reads 3 px to its left.
    const dst = Float64Array.from(src);
    for (let i = 0; i < pts.length; i++) {
      const [x, y] = pts[i]!;
      if (x > 20 && x < 70 && y > 15 && y < 50) dst[2 * i] = x + 3;
    }
    const out = img.data.slice();
    new MeshWarp(img, src, tris).render(dst, out);
    const w = img.width;
    let same = 0;
    let checked = 0;
    for (let y = 22; y < 40; y++)
      for (let x = 36; x < 52; x++) {
        checked++;
        const a = (y * w + x) * 3;
        const b = (y * w + x - 3) * 3;
        if (out[a] === img.data[b] && out[a + 1] === img.data[b + 1] && out[a + 2] === img.data[b + 2])
          same++;
      }
    expect(same).toBe(checked);
    // Outside the mesh's moving triangles nothing changed.
    expect(out[(2 * w + 2) * 3]).toBe(img.data[(2 * w + 2) * 3]);
  });

  it('renders only the triangles it is told to', () => {
    const dst = Float64Array.from(src).map((v, i) => (i % 2 === 0 && v > 0 && v < 96 ? v + 2 : v));
    const none = new Uint8Array(tris.length / 3);
    const out = img.data.slice();
    new MeshWarp(img, src, tris).render(dst, out, none);
    expect(Buffer.from(out).equals(Buffer.from(img.data))).toBe(true);
  });
});

describe('FaceRig', () => {
  const face = syntheticFace();
  const rig = new FaceRig(face, 512);
  const out = new Float64Array(rig.source.length);

  it('the rest pose is the portrait itself', () => {
    rig.pose({ open: 0, width: 0, blink: 0 }, out);
    expect(Array.from(out)).toEqual(Array.from(rig.source));
  });

  it('opening parts the inner lips by about the jaw drop and moves the chin down, not the eyes', () => {
    rig.pose({ open: 1, width: 0, blink: 0 }, out);
    const added = innerGap(out) - rig.restGap;
    const drop = MAX_DROP * rig.mouthWidth;
    expect(added).toBeGreaterThan(1.0 * drop);
    expect(added).toBeLessThan(1.2 * drop);
    expect(out[2 * 8 + 1]! - rig.source[2 * 8 + 1]!).toBeCloseTo(0.5 * drop, 5);
    for (let i = 17; i < 48; i++) expect(out[2 * i + 1]).toBe(rig.source[2 * i + 1]);
  });

  it('rounding narrows the mouth, spreading widens it', () => {
    const width = (w: number) => {
      rig.pose({ open: 0.5, width: w, blink: 0 }, out);
      return out[2 * 54]! - out[2 * 48]!;
    };
    expect(width(-1)).toBeLessThan(0.85 * width(0));
    expect(width(1)).toBeGreaterThan(1.05 * width(0));
  });

  it('a blink closes each eye (upper lid meets the lower lid)', () => {
    rig.pose({ open: 0, width: 0, blink: 1 }, out);
    for (const [a, b] of [
      [37, 41],
      [38, 40],
      [43, 47],
      [44, 46],
    ] as const)
      expect(Math.abs(out[2 * a + 1]! - out[2 * b + 1]!)).toBeLessThan(1e-9);
  });

  it('with the head still, only triangles inside the face move; head motion also moves the surroundings', () => {
    rig.pose({ open: 1, width: -1, blink: 1 }, out);
    const t = rig.triangles;
    for (let k = 0; k < t.length / 3; k++) {
      const moved = [t[3 * k]!, t[3 * k + 1]!, t[3 * k + 2]!].some(
        (v) => out[2 * v] !== rig.source[2 * v] || out[2 * v + 1] !== rig.source[2 * v + 1],
      );
      if (moved) expect(rig.faceTriangles[k]).toBe(1);
    }
    rig.pose({ open: 0, width: 0, blink: 0, head: { angle: 0.02, dx: 3, dy: -2, scale: 0.01 } }, out);
    // The frame's border points never move.
    const n = rig.count;
    for (let i = n - 16; i < n; i++) {
      expect(out[2 * i]).toBe(rig.source[2 * i]);
      expect(out[2 * i + 1]).toBe(rig.source[2 * i + 1]);
    }
    expect(out[2 * 30]).not.toBe(rig.source[2 * 30]);
  });
});

describe('speech shapes and loudness', () => {
  it('maps eSpeak and IPA phonemes and Azure visemes to mouth shapes', () => {
    expect(phonemeShape('p').open).toBe(0);
    expect(phonemeShape('m').open).toBe(0);
    expect(phonemeShape('a:').open).toBeGreaterThan(0.8);
    expect(phonemeShape('aI').open).toBeGreaterThan(0.8);
    expect(phonemeShape('u:').width).toBeLessThan(-0.5);
    expect(phonemeShape('i:').width).toBeGreaterThan(0.5);
    expect(phonemeShape('ʃ').width).toBeLessThan(0);
    expect(phonemeShape('tS')).toEqual(phonemeShape('ʃ'));
    expect(phonemeShape('tʃ')).toEqual(phonemeShape('ʃ'));
    expect(phonemeShape('t').width).toBeGreaterThan(0);
    expect(phonemeShape('_:').open).toBe(0);
    expect(phonemeShape('ˈɑː').open).toBeGreaterThan(0.8);
    expect(phonemeShape('?weird').open).toBeGreaterThan(0);
    expect(visemeShape('0').open).toBe(0);
    expect(visemeShape('21').open).toBe(0);
    expect(visemeShape('2').open).toBe(1);
    expect(visemeShape('a').open).toBeGreaterThan(0.8);
  });

  it('per-frame targets follow the timed units', () => {
    const track = shapeTrack(
      [
        { start: 0, end: 0.2, text: 'm', kind: 'phoneme' },
        { start: 0.2, end: 0.4, text: 'a', kind: 'phoneme' },
        { start: 0.6, end: 0.8, text: 'u', kind: 'phoneme' },
      ],
      25,
      25,
    );
    expect(track.shaped).toBe(true);
    expect(track.open[2]).toBe(0);
    expect(track.open[7]).toBeGreaterThan(0.8);
    expect(track.voiced[12]).toBe(0);
    expect(track.width[17]).toBeLessThan(-0.5);
    const words = shapeTrack([{ start: 0.1, end: 0.5, text: 'hello', kind: 'word' }], 25, 25);
    expect(words.shaped).toBe(false);
    expect(Array.from(words.voiced.slice(0, 14))).toEqual([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
  });

  it('the envelope is 0 in silence, 1 at the loud level, and independent of the recording level', () => {
    const a = syntheticSpeech(4);
    const quiet = { samples: a.samples.map((v) => v * 0.2), sampleRate: a.sampleRate };
    const e1 = speechEnvelope(a, 25, 100);
    const e2 = speechEnvelope(quiet, 25, 100);
    for (let i = 0; i < 100; i++) expect(e2[i]).toBeCloseTo(e1[i]!, 4);
    expect(Math.max(...e1)).toBe(1);
    expect(e1[0]).toBe(0);
    const silence = speechEnvelope({ samples: new Float32Array(16000), sampleRate: 16000 }, 25, 25);
    expect(Math.max(...silence)).toBe(0);
    expect(frameLevels(a, 25, 100)).toHaveLength(100);
  });

  it('smoothing keeps the mean and lowers the peaks', () => {
    const v = new Float32Array(50);
    v[25] = 1;
    const s = smooth(v, 2);
    expect(s.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 5);
    expect(s[25]).toBeLessThan(0.25);
  });
});

describe('motion', () => {
  const audio = syntheticSpeech(20);
  const base = { audio, fps: 25, frames: 500, seed: 42, faceSize: 100 };

  it('is deterministic for a seed and differs between seeds', () => {
    const a = buildMotion({ ...base, headMotion: true });
    const b = buildMotion({ ...base, headMotion: true });
    const c = buildMotion({ ...base, seed: 43, headMotion: true });
    expect(Array.from(a.blink)).toEqual(Array.from(b.blink));
    expect(Array.from(a.angle)).toEqual(Array.from(b.angle));
    expect(Array.from(a.blink)).not.toEqual(Array.from(c.blink));
  });

  it('blinks every 2 to 6 seconds, each fully closing', () => {
    const m = buildMotion({ ...base, headMotion: false });
    expect(m.blinkFrames.length).toBeGreaterThanOrEqual(3);
    for (const f of m.blinkFrames) expect(m.blink[f]).toBeGreaterThan(0.9);
    for (let i = 1; i < m.blinkFrames.length; i++) {
      const gap = (m.blinkFrames[i]! - m.blinkFrames[i - 1]!) / 25;
      expect(gap).toBeGreaterThanOrEqual(BLINK_MIN_S - 0.05);
      expect(gap).toBeLessThanOrEqual(BLINK_MAX_S + 0.05);
    }
  });

  it('the mouth follows the loudness without timing; head motion is zero when off and slight when on', () => {
    const off = buildMotion({ ...base, headMotion: false });
    expect(pearson(off.open, speechEnvelope(audio, 25, 500))).toBeGreaterThan(0.95);
    expect(Math.max(...off.angle.map(Math.abs), ...off.dx.map(Math.abs))).toBe(0);
    const on = buildMotion({ ...base, headMotion: true });
    const maxAngle = Math.max(...on.angle.map(Math.abs));
    expect(maxAngle).toBeGreaterThan(0.002);
    expect(maxAngle).toBeLessThan((3 * Math.PI) / 180);
    expect(on.angle[0]).toBe(0);
  });

  it('phoneme timing shapes the mouth: a bilabial closes it even when loud', () => {
    const loud = { samples: new Float32Array(16000).map((_, i) => 0.3 * Math.sin(i / 5)), sampleRate: 16000 };
    const m = buildMotion({
      ...base,
      audio: loud,
      frames: 25,
      headMotion: false,
      timing: [
        { start: 0, end: 0.5, text: 'a', kind: 'phoneme' },
        { start: 0.5, end: 1, text: 'm', kind: 'phoneme' },
      ],
    });
    expect(m.open[5]!).toBeGreaterThan(0.8);
    expect(m.open[20]!).toBeLessThan(0.45);
  });
});

describe('SadTalker inputs', () => {
  it('the 800-point FFT matches a direct DFT', () => {
    const x = new Float64Array(N_FFT).map(
      (_, i) => Math.sin(i * 0.37) + 0.3 * Math.cos(i * 1.3) + ((i * 7919) % 13) / 13,
    );
    const mag = new Float32Array(N_FFT / 2 + 1);
    magnitudes(x, mag);
    for (const k of [0, 1, 47, 166, 399, 400]) {
      let re = 0;
      let im = 0;
      for (let n = 0; n < N_FFT; n++) {
        re += x[n]! * Math.cos((2 * Math.PI * k * n) / N_FFT);
        im -= x[n]! * Math.sin((2 * Math.PI * k * n) / N_FFT);
      }
      expect(Math.abs(Math.hypot(re, im) - mag[k]!)).toBeLessThan(1e-3 * Math.max(1, Math.hypot(re, im)));
    }
  });

  it('mel spectrogram: 80 frames a second, silence at the floor, a tone peaks in the band that holds it', () => {
    const rate = 16000;
    const silence = melSpectrogram({ samples: new Float32Array(rate), sampleRate: rate });
    expect(silence.frames).toBe(1 + Math.floor(rate / 200));
    expect(Math.max(...silence.data)).toBe(-4);
    const tone = new Float32Array(rate).map((_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / rate));
    const spec = melSpectrogram({ samples: tone, sampleRate: rate });
    const frame = spec.data.subarray(40 * N_MELS, 41 * N_MELS);
    const peak = frame.indexOf(Math.max(...frame));
    // 1 kHz sits at Slaney mel 15; bands are spaced (mel(7600) - mel(55)) / 81 apart from mel(55).
    const melLo = 55 / (200 / 3);
    const melHi = 15 + Math.log(7.6) / (Math.log(6.4) / 27);
    const expected = (15 - melLo) / ((melHi - melLo) / 81) - 1;
    expect(Math.abs(peak - expected)).toBeLessThanOrEqual(1);
    expect(frame[peak]).toBeGreaterThan(0);
    // Resampled input gives the same spectrogram shape (44.1 kHz in).
    const hi = new Float32Array(44100).map((_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 44100));
    const spec2 = melSpectrogram({ samples: hi, sampleRate: 44100 });
    const f2 = spec2.data.subarray(40 * N_MELS, 41 * N_MELS);
    expect(f2.indexOf(Math.max(...f2))).toBe(peak);
  });

  it('mel windows: frame i starts at int(80 (i - 2) / fps), clamped at both ends', () => {
    const frames = 30;
    const data = new Float32Array(frames * N_MELS).map((_, k) => Math.floor(k / N_MELS));
    const w = melWindows({ data, frames }, 12, 25);
    const at = (i: number, t: number) => w[i * N_MELS * 16 + 5 * 16 + t];
    expect(at(0, 0)).toBe(0); // start -6 clamps to 0
    expect(at(0, 15)).toBe(9);
    expect(at(5, 0)).toBe(9); // int(80 * 3 / 25) = 9
    expect(at(11, 15)).toBe(frames - 1); // 28 + 15 clamps to 29
  });

  it('POS recovers the scale and translation of a projected standard face', () => {
    const s = 180;
    const t = [120, 95];
    const pts = STANDARD_FACE_5.map(([x, y]) => [s * x + t[0]!, s * y + t[1]!] as [number, number]);
    const fit = pos(pts);
    expect(fit.s).toBeCloseTo(s, 6);
    expect(fit.tx).toBeCloseTo(t[0]!, 6);
    expect(fit.ty).toBeCloseTo(t[1]!, 6);
    // The 224 crop puts the standard face's centre near the crop centre and sizes it to 102 units.
    const lm: [number, number][] = Array.from({ length: 68 }, () => [0, 0]);
    const put = (i: number, p: [number, number]) => {
      lm[i] = [p[0], 255 - p[1]];
    };
    put(36, pts[0]!);
    put(39, pts[0]!);
    put(42, pts[1]!);
    put(45, pts[1]!);
    put(30, pts[2]!);
    put(48, pts[3]!);
    put(54, pts[4]!);
    const a = reconAffine(lm, 256, 256);
    const nose = [a[0] * lm[30]![0] + a[2], a[4] * lm[30]![1] + a[5]];
    expect(a[0]).toBeCloseTo(102 / s, 2);
    expect(Math.abs(nose[0]! - RECON_SIZE / 2)).toBeLessThan(2);
  });

  it('semantics windows span 27 frames centred on the frame, clamped (transform_semantic_target)', () => {
    const frames = 40;
    const coeffs = new Float32Array(frames * SEMANTICS).map((_, k) => Math.floor(k / SEMANTICS));
    const w = semanticsWindow(coeffs, frames, 5);
    expect(w).toHaveLength(SEMANTICS * WINDOW);
    expect(Array.from(w.subarray(0, WINDOW))).toEqual(
      Array.from({ length: WINDOW }, (_, i) => Math.min(frames - 1, Math.max(0, 5 - 13 + i))),
    );
    expect(w[69 * WINDOW + 13]).toBe(5);
    const r = repeatWindow(new Float32Array(SEMANTICS).map((_, k) => k));
    expect(r[3 * WINDOW + 26]).toBe(3);
  });
});
