/**
 * The SadTalker-class engine on fixture graphs with the real exports' names and shapes
 * (models/fixtures/talk-fixtures.ts), installed in a temporary model folder under manifests that
 * carry the fixtures' digests. The fixtures' outputs are known, so the checks are exact: silence
 * must reproduce the portrait, loudness must brighten each frame by exactly the renderer's gain.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelError, NotAvailableError } from '../../base/errors.ts';
import { envelope } from '../../core/audio/pcm.ts';
import { config } from '../../core/config.ts';
import { FaceAnalyzer } from '../../core/face/index.ts';
import { Pyramid, warpRgb } from '../../core/image/warp.ts';
import { FFHQ_CENTRE, talkCrop } from '../../core/talk/crop.ts';
import { engineStatus, parseEngineChoice, pickEngine } from '../../core/talk/engines.ts';
import { MEL_STEP, melSpectrogram, melWindows, N_MELS } from '../../core/talk/mel.ts';
import { ENHANCER_MODEL, SADTALKER_MODELS, SadTalkerEngine } from '../../core/talk/sadtalker.ts';
import { GraphBuilder } from '../../models/fixtures/graph.ts';
import {
  buildAudio2ExpFixture,
  buildEnhancerFixture,
  buildFaceReconFixture,
  buildRendererFixture,
  FIXTURE_ANGLE,
  FIXTURE_TRANS,
} from '../../models/fixtures/talk-fixtures.ts';
import { loadManifests, type ModelManifest } from '../../models/manifest.ts';
import { OnnxSession } from '../../models/onnx.ts';
import { ModelStore } from '../../models/store.ts';
import type { Portrait } from './helpers.ts';
import { collect, pearson, portrait, syntheticSpeech } from './helpers.ts';

let tmp: string;
let analyzer: FaceAnalyzer;
let p: Portrait;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'facechain-talk-'));
  analyzer = await FaceAnalyzer.load(new ModelStore(config().modelsDir), { threads: 1 });
  p = await portrait(analyzer);
});

afterAll(async () => {
  await analyzer?.dispose();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/**
 * A model store in a fresh folder holding `files` (id -> ONNX bytes); those models' manifests
 * get the files' digests and are marked verified, as an operator does after checking an export.
 */
function storeWith(files: Record<string, Uint8Array>, opts: { digests?: boolean } = {}): ModelStore {
  const dir = mkdtempSync(path.join(tmp, 'models-'));
  const manifests = new Map<string, ModelManifest>();
  for (const [id, m] of loadManifests()) {
    const bytes = files[id];
    if (!bytes) {
      manifests.set(id, m);
      continue;
    }
    mkdirSync(path.join(dir, id), { recursive: true });
    writeFileSync(path.join(dir, id, 'model.onnx'), bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    manifests.set(
      id,
      opts.digests === false
        ? m
        : { ...m, verified: true, files: [{ ...m.files[0]!, sha256, size: bytes.length }] },
    );
  }
  return new ModelStore(dir, manifests);
}

const FIXTURES = (): Record<string, Uint8Array> => ({
  [SADTALKER_MODELS.faceRecon]: buildFaceReconFixture(),
  [SADTALKER_MODELS.audio2exp]: buildAudio2ExpFixture(),
  [SADTALKER_MODELS.renderer]: buildRendererFixture(),
});

/** The engine's source (the FFHQ-layout 256 crop) scaled to `size` as the engine scales frames. */
function expectedStill(size: number): Uint8Array {
  const crop = talkCrop(p.image, p.face.landmarks, 256, FFHQ_CENTRE).image;
  const k = size / 256;
  return warpRgb(new Pyramid(crop), [k, 0, 0, 0, k, 0], size, size).data;
}

describe('engine choice', () => {
  it('without the GPU models: auto gives the basic animator, sadtalker is not available', async () => {
    const store = storeWith({});
    const status = await engineStatus(store);
    expect(status.find((s) => s.name === 'sadtalker')).toMatchObject({
      available: false,
      reason: expect.stringContaining('not installed'),
    });
    const auto = await pickEngine(store, 'auto');
    expect(auto.name).toBe('basic');
    expect(auto.label).toBe('basic animator');
    const err = await pickEngine(store, 'sadtalker').catch((e) => e);
    expect(err).toBeInstanceOf(NotAvailableError);
    expect(err.message).toMatch(/SadTalker.*docs\/talk\.md/s);
    expect(() => parseEngineChoice('wav2lip')).toThrow(/Unknown animation engine "wav2lip"/);
  });

  it('files present without digests (an unchecked export) are not used', async () => {
    const store = storeWith(FIXTURES(), { digests: false });
    expect((await pickEngine(store, 'auto')).name).toBe('basic');
    const status = await engineStatus(store);
    expect(status[0]!.reason).toMatch(/not verified/);
  });

  it('with the enhancer asked for (FACECHAIN_TALK_ENHANCE), the GPU engine counts only with it installed', async () => {
    const files = FIXTURES();
    const without = (await engineStatus(storeWith(files), { enhance: true }))[0]!;
    expect(without).toMatchObject({ name: 'sadtalker', available: false });
    expect(without.reason).toMatch(/FACECHAIN_TALK_ENHANCE is on.*talk-gfpgan/);
    expect((await engineStatus(storeWith(files)))[0]!.available).toBe(true);
    const withIt = storeWith({ ...files, [ENHANCER_MODEL]: buildEnhancerFixture('invert') });
    expect((await engineStatus(withIt, { enhance: true }))[0]).toEqual({
      name: 'sadtalker',
      available: true,
    });
  });

  it('with the models installed and verified, auto picks SadTalker', async () => {
    const engine = await pickEngine(storeWith(FIXTURES()), 'auto');
    expect(engine.name).toBe('sadtalker');
    await engine.dispose();
  });

  it('a model whose inputs do not match its manifest is refused at load', async () => {
    const files = FIXTURES();
    files[SADTALKER_MODELS.renderer] = buildEnhancerFixture();
    const err = await SadTalkerEngine.load(storeWith(files)).catch((e) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(err.code).toBe('model_mismatch');
  });
});

describe('SadTalker engine on fixture graphs', () => {
  it('onnxruntime runs the 5-D GridSample (opset 20) that the renderer export needs, exactly', async () => {
    // SadTalker's generator warps 3-D feature volumes with F.grid_sample: an identity grid must
    // return the volume unchanged.
    const g = new GraphBuilder('grid-sample-5d');
    const x = g.input('x', 'float32', [1, 2, 3, 4, 5]);
    const grid = g.input('grid', 'float32', [1, 3, 4, 5, 3]);
    g.output(
      g.op('GridSample', [x, grid], { mode: 'linear', padding_mode: 'zeros', align_corners: 0 }),
      'y',
      'float32',
      [1, 2, 3, 4, 5],
    );
    const s = await OnnxSession.create(g.toBytes({ opset: 20 }));
    const data = new Float32Array(120).map((_, i) => i);
    const gr = new Float32Array(3 * 4 * 5 * 3);
    for (let d = 0; d < 3; d++)
      for (let h = 0; h < 4; h++)
        for (let w = 0; w < 5; w++) {
          const o = ((d * 4 + h) * 5 + w) * 3;
          gr.set([(2 * w + 1) / 5 - 1, (2 * h + 1) / 4 - 1, (2 * d + 1) / 3 - 1], o);
        }
    const r = await s.run({
      x: { type: 'float32', data, dims: [1, 2, 3, 4, 5] },
      grid: { type: 'float32', data: gr, dims: [1, 3, 4, 5, 3] },
    });
    expect(Array.from(r.y!.data as Float32Array)).toEqual(Array.from(data));
    await s.dispose();
  });

  it('silence reproduces the portrait exactly (identity warp, no expression change)', async () => {
    const engine = await SadTalkerEngine.load(storeWith(FIXTURES()));
    try {
      const anim = await engine.animate({
        portrait: p.image,
        landmarks: p.face.landmarks,
        audio: { samples: new Float32Array(16000), sampleRate: 16000 },
      });
      expect(anim).toMatchObject({ engine: 'sadtalker', width: 512, height: 512, frameCount: 25 });
      const frames = await collect(anim.frames);
      const still = expectedStill(512);
      for (const f of frames) expect(Buffer.from(f).equals(Buffer.from(still))).toBe(true);
      // The 3DMM coefficients were sliced where the regressor puts them.
      const s = engine.lastSemantics!;
      expect(Array.from(s.subarray(64, 67)).map((v) => +v.toFixed(5))).toEqual([...FIXTURE_ANGLE]);
      expect(Array.from(s.subarray(67, 70)).map((v) => +v.toFixed(5))).toEqual([...FIXTURE_TRANS]);
      // exp[0..2] = the aligned face's mean R, G, B: skin is redder than it is blue.
      expect(s[0]!).toBeGreaterThan(s[2]!);
      expect(s[0]!).toBeLessThan(1);
    } finally {
      await engine.dispose();
    }
  });

  it('speech drives every frame through mel windows -> Audio2Exp -> renderer, frame by frame', async () => {
    const engine = await SadTalkerEngine.load(storeWith(FIXTURES()), { batch: 3 });
    try {
      const audio = syntheticSpeech(3);
      const anim = await engine.animate({
        portrait: p.image,
        landmarks: p.face.landmarks,
        audio,
        size: 256,
        headMotion: false,
      });
      const frames = await collect(anim.frames);
      expect(frames).toHaveLength(75);
      // The fixture renderer's gain is 1 + 0.5 * loudness of the frame's mel window.
      const windows = melWindows(melSpectrogram(audio), 75, 25);
      const per = N_MELS * MEL_STEP;
      const still = expectedStill(256);
      const brightness: number[] = [];
      for (let i = 0; i < 75; i++) {
        let m = 0;
        for (let k = 0; k < per; k++) m += windows[i * per + k]!;
        const gain = 1 + 0.5 * ((m / per + 4) / 8);
        // Check the gain on pixels dark enough not to clip at 255.
        let err = 0;
        let n = 0;
        let sum = 0;
        for (let k = 0; k < still.length; k++) {
          sum += frames[i]![k]!;
          if (still[k]! * gain > 250) continue;
          err = Math.max(err, Math.abs(frames[i]![k]! - still[k]! * gain));
          n++;
        }
        expect(n).toBeGreaterThan(10000);
        expect(err).toBeLessThanOrEqual(0.51);
        brightness.push(sum);
      }
      // ...so brightness follows the loudness of the speech.
      expect(pearson(brightness, envelope(audio, 25))).toBeGreaterThan(0.7);
    } finally {
      await engine.dispose();
    }
  });

  it('the enhancer is off by default and, when on, runs on every 512 frame', async () => {
    const files = FIXTURES();
    const without = await SadTalkerEngine.load(storeWith(files), { enhance: true }).catch((e) => e);
    expect(without).toBeInstanceOf(NotAvailableError);
    expect(without.message).toMatch(/face enhancer/);
    const engine = await SadTalkerEngine.load(
      storeWith({ ...files, [ENHANCER_MODEL]: buildEnhancerFixture('invert') }),
      { enhance: true },
    );
    try {
      const anim = await engine.animate({
        portrait: p.image,
        landmarks: p.face.landmarks,
        audio: { samples: new Float32Array(8000), sampleRate: 16000 },
      });
      const frames = await collect(anim.frames);
      const still = expectedStill(512);
      // The inverting fixture: ((-(x/127.5 - 1)) + 1) * 127.5 = 255 - x.
      for (const f of frames)
        for (let k = 0; k < f.length; k += 97)
          expect(Math.abs(f[k]! - (255 - still[k]!))).toBeLessThanOrEqual(1);
    } finally {
      await engine.dispose();
    }
  });
});
