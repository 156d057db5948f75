/**
 * The SadTalker-class engine (GPU hosts): audio -> expression coefficients -> neural renderer,
 * run through ONNX exports of SadTalker's own networks (models/manifests/talk-sadtalker-*.json):
 *
 *   portrait crop (256) --3DMM regressor--> exp 64, angle 3, trans 3   (the source semantics)
 *   speech --mel windows--> Audio2Exp (+ the portrait's exp, + blink ratio) --> exp per frame
 *   per frame: [exp, angle (+ head motion), trans] over a 27-frame window --renderer--> 256 frame
 *   --> upscaled to the output size --> optional GFPGAN-class enhancer (off by default)
 *
 * Head pose: SadTalker's "still" mode (the portrait's pose) plus this project's seeded slight
 * head motion added to the angles, instead of SadTalker's Audio2Pose CVAE (not exported).
 * Missing or unverified model files mean NotAvailableError: never the basic animator instead.
 */

import { ModelError, NotAvailableError, throwIfAborted } from '../../base/errors.ts';
import { OnnxSession, type Tensor } from '../../models/onnx.ts';
import type { ModelStore } from '../../models/store.ts';
import { config } from '../config.ts';
import type { RgbImage } from '../image/codec.ts';
import { Pyramid, warpRgb } from '../image/warp.ts';
import { FFHQ_CENTRE, talkCrop } from './crop.ts';
import { checkInput, yieldToEventLoop } from './input.ts';
import { MEL_STEP, melSpectrogram, melWindows, N_MELS } from './mel.ts';
import { motionForCrop } from './motion.ts';
import { RECON_SIZE, reconAffine } from './recon-align.ts';
import { type Animation, type AnimationEngine, type AnimationInput, frameCountFor } from './types.ts';

export const SADTALKER_MODELS = {
  faceRecon: 'talk-sadtalker-face-recon',
  audio2exp: 'talk-sadtalker-audio2exp',
  renderer: 'talk-sadtalker-renderer',
} as const;
export const ENHANCER_MODEL = 'talk-gfpgan';

export const RENDER_SIZE = 256;
export const ENHANCE_SIZE = 512;
/** Semantics per frame (exp 64, angle 3, trans 3) and the renderer's window (2 x 13 + 1). */
export const SEMANTICS = 70;
export const WINDOW = 27;
const RADIUS = 13;
/** Frames per Audio2Exp call (the network treats frames independently; this bounds memory). */
const EXP_CHUNK = 200;
/** Head motion in the angles: radians of yaw/pitch per eye distance of the motion's shift. */
const HEAD_TURN = 0.25;

export interface SadTalkerOptions {
  /** Run the face enhancer on every frame (needs talk-gfpgan installed). Default false. */
  enhance?: boolean;
  /** Frames per renderer call (SadTalker's default is 2). */
  batch?: number;
  /** Scale of the predicted expression (SadTalker's expression_scale, default 1). */
  expressionScale?: number;
  threads?: number;
  providers?: string[];
}

/** Models found complete and verified, per store: real exports are gigabytes, hashed once per process. */
const verified = new WeakMap<ModelStore, Set<string>>();

/** Why a model set cannot run here (not declared, not installed, or no digest yet), or undefined. */
export async function modelsProblem(store: ModelStore, ids: readonly string[]): Promise<string | undefined> {
  const ok = verified.get(store) ?? new Set<string>();
  verified.set(store, ok);
  for (const id of ids) {
    if (ok.has(id)) continue;
    if (!store.manifests.has(id)) return `model "${id}" has no manifest`;
    const bad = (await store.status(id)).find((f) => f.state !== 'ok');
    if (bad)
      return bad.state === 'missing'
        ? `model "${id}" file ${bad.file} is not installed`
        : `model "${id}" file ${bad.file} is not verified (${bad.detail ?? 'corrupt'})`;
    ok.add(id);
  }
  return undefined;
}

const HOW =
  'It needs the SadTalker ONNX exports (talk-sadtalker-face-recon, -audio2exp, -renderer) installed with their digests on a GPU worker: see docs/talk.md, "SadTalker export". The basic animator works everywhere.';

export class SadTalkerEngine implements AnimationEngine {
  readonly name = 'sadtalker' as const;
  readonly label = 'SadTalker';
  /** The portrait's semantics from the last animate() (exp 64, angle 3, trans 3), for tests and figures. */
  lastSemantics?: Float32Array;

  private constructor(
    private readonly recon: OnnxSession,
    private readonly audio2exp: OnnxSession,
    private readonly renderer: OnnxSession,
    private readonly enhancer: OnnxSession | undefined,
    private readonly opts: SadTalkerOptions,
  ) {}

  static async load(store: ModelStore, opts: SadTalkerOptions = {}): Promise<SadTalkerEngine> {
    const ids = Object.values(SADTALKER_MODELS);
    const problem = await modelsProblem(store, ids);
    if (problem) throw new NotAvailableError('The SadTalker talking-head engine', `${HOW} (${problem})`);
    if (opts.enhance) {
      const p = await modelsProblem(store, [ENHANCER_MODEL]);
      if (p)
        throw new NotAvailableError(
          'The talking-head face enhancer',
          `It needs the GFPGAN ONNX export (talk-gfpgan): see docs/talk.md, "Face enhancer export" (${p}).`,
        );
    }
    const cfg = config();
    const open = async (id: string) => {
      const m = store.manifest(id);
      return OnnxSession.create(await store.path(id), {
        name: id,
        threads: opts.threads ?? cfg.FACECHAIN_ORT_THREADS,
        providers: opts.providers ?? cfg.executionProviders,
        expectInputs: m.inputs,
        expectOutputs: m.outputs,
        memPattern: false,
      });
    };
    const sessions: OnnxSession[] = [];
    try {
      for (const id of ids) sessions.push(await open(id));
      const enhancer = opts.enhance ? await open(ENHANCER_MODEL) : undefined;
      return new SadTalkerEngine(sessions[0]!, sessions[1]!, sessions[2]!, enhancer, opts);
    } catch (e) {
      for (const s of sessions) await s.dispose();
      throw e;
    }
  }

  async animate(input: AnimationInput): Promise<Animation> {
    const o = checkInput(input);
    const { size, fps, signal } = o;
    const frameCount = frameCountFor(o.durationS, fps);
    const crop = talkCrop(o.portrait, o.landmarks, RENDER_SIZE, FFHQ_CENTRE);
    const source = toPlanar(crop.image, 1 / 255, 0);
    const semantics0 = await this.sourceSemantics(crop.image, crop.landmarks);
    this.lastSemantics = semantics0;
    throwIfAborted(signal);
    const motion = motionForCrop(crop.landmarks, {
      audio: o.audio,
      timing: o.timing,
      fps,
      frames: frameCount,
      seed: o.seed,
      headMotion: o.headMotion,
    });
    const exp = await this.expressions(o.audio, frameCount, fps, semantics0, motion.blink, signal);
    const scale = this.opts.expressionScale ?? 1;
    // Per-frame semantics [frames, 70]: predicted expression, the portrait's pose plus head motion.
    const coeffs = new Float32Array(frameCount * SEMANTICS);
    for (let i = 0; i < frameCount; i++) {
      const row = coeffs.subarray(i * SEMANTICS, (i + 1) * SEMANTICS);
      for (let k = 0; k < 64; k++) row[k] = exp[i * 64 + k]! * scale;
      row.set(semantics0.subarray(64, 70), 64);
      row[64] += (HEAD_TURN * motion.dy[i]!) / motion.faceSize; // pitch
      row[65] += (HEAD_TURN * motion.dx[i]!) / motion.faceSize; // yaw
      row[66] += motion.angle[i]!; // roll
    }
    const batch = Math.max(1, Math.min(16, this.opts.batch ?? 2));
    const self = this;

    async function* frames(): AsyncGenerator<Uint8Array> {
      const plane = 3 * RENDER_SIZE * RENDER_SIZE;
      const win = SEMANTICS * WINDOW;
      for (let b = 0; b < frameCount; b += batch) {
        throwIfAborted(signal);
        const n = Math.min(batch, frameCount - b);
        const img = new Float32Array(n * plane);
        const srcSem = new Float32Array(n * win);
        const tgtSem = new Float32Array(n * win);
        for (let r = 0; r < n; r++) {
          img.set(source, r * plane);
          srcSem.set(repeatWindow(semantics0), r * win);
          tgtSem.set(semanticsWindow(coeffs, frameCount, b + r), r * win);
        }
        const out = await self.renderer.run({
          source_image: f32(img, [n, 3, RENDER_SIZE, RENDER_SIZE]),
          source_semantics: f32(srcSem, [n, SEMANTICS, WINDOW]),
          target_semantics: f32(tgtSem, [n, SEMANTICS, WINDOW]),
        });
        const video = out.video;
        if (!video || video.data.length !== n * plane)
          throw new ModelError(
            'model_mismatch',
            `The talking-head renderer returned dims [${video?.dims.join(', ')}]; expected [${n}, 3, ${RENDER_SIZE}, ${RENDER_SIZE}].`,
          );
        for (let r = 0; r < n; r++) {
          const planar = (video.data as Float32Array).subarray(r * plane, (r + 1) * plane);
          let frame = fromPlanar(planar, RENDER_SIZE, 255, 0);
          frame = await self.finish(frame, size);
          o.onProgress?.((b + r + 1) / frameCount);
          yield frame.data;
        }
        await yieldToEventLoop();
      }
    }

    return { engine: 'sadtalker', width: size, height: size, fps, frameCount, frames: frames() };
  }

  /** Source semantics [70]: exp, angle, trans of the portrait from the 3DMM regressor. */
  private async sourceSemantics(crop: RgbImage, landmarks: readonly (readonly [number, number])[]) {
    // The crop's landmarks put pixel centres on integers; the alignment works in pixel units.
    const affine = reconAffine(
      landmarks.map(([x, y]) => [x + 0.5, y + 0.5] as const),
      crop.width,
      crop.height,
    );
    const face = warpRgb(new Pyramid(crop), affine, RECON_SIZE, RECON_SIZE);
    const out = await this.recon.run({
      image: f32(toPlanar(face, 1 / 255, 0), [1, 3, RECON_SIZE, RECON_SIZE]),
    });
    const c = out.coeffs?.data as Float32Array | undefined;
    if (c?.length !== 257)
      throw new ModelError('model_mismatch', 'The 3DMM regressor must return 257 coefficients.');
    const s = new Float32Array(SEMANTICS);
    s.set(c.subarray(80, 144), 0);
    s.set(c.subarray(224, 227), 64);
    s.set(c.subarray(254, 257), 67);
    return s;
  }

  /** Expression coefficients [frames, 64] from the speech. */
  private async expressions(
    audio: AnimationInput['audio'],
    frames: number,
    fps: number,
    semantics0: Float32Array,
    blink: Float32Array,
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    const spec = melSpectrogram(audio, signal);
    throwIfAborted(signal);
    const mel = melWindows(spec, frames, fps);
    const per = N_MELS * MEL_STEP;
    const out = new Float32Array(frames * 64);
    for (let a = 0; a < frames; a += EXP_CHUNK) {
      throwIfAborted(signal);
      const n = Math.min(EXP_CHUNK, frames - a);
      const ref = new Float32Array(n * 64);
      for (let i = 0; i < n; i++) ref.set(semantics0.subarray(0, 64), i * 64);
      const r = await this.audio2exp.run({
        mel: f32(mel.subarray(a * per, (a + n) * per), [1, n, 1, N_MELS, MEL_STEP]),
        ref: f32(ref, [1, n, 64]),
        ratio: f32(blink.slice(a, a + n), [1, n, 1]),
      });
      const e = r.exp?.data as Float32Array | undefined;
      if (!e || e.length !== n * 64)
        throw new ModelError('model_mismatch', `Audio2Exp returned ${e?.length} values for ${n} frames.`);
      out.set(e, a * 64);
    }
    return out;
  }

  /** Upscale to the output size, through the enhancer when it is on. */
  private async finish(frame: RgbImage, size: number): Promise<RgbImage> {
    if (!this.enhancer) return scaleTo(frame, size);
    const big = scaleTo(frame, ENHANCE_SIZE);
    const out = await this.enhancer.run({
      input: f32(toPlanar(big, 1 / 127.5, -1), [1, 3, ENHANCE_SIZE, ENHANCE_SIZE]),
    });
    const t = out.output?.data as Float32Array | undefined;
    if (!t || t.length !== 3 * ENHANCE_SIZE * ENHANCE_SIZE)
      throw new ModelError('model_mismatch', 'The face enhancer must return a 512x512 RGB image.');
    return scaleTo(fromPlanar(t, ENHANCE_SIZE, 127.5, 1), size);
  }

  async dispose(): Promise<void> {
    await this.recon.dispose();
    await this.audio2exp.dispose();
    await this.renderer.dispose();
    await this.enhancer?.dispose();
  }
}

function f32(data: Float32Array, dims: number[]): Tensor {
  return { type: 'float32', data, dims };
}

/** HWC bytes -> CHW floats: value * k + c. */
export function toPlanar(img: RgbImage, k: number, c: number): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  const d = img.data;
  for (let i = 0; i < n; i++) {
    out[i] = d[3 * i]! * k + c;
    out[n + i] = d[3 * i + 1]! * k + c;
    out[2 * n + i] = d[3 * i + 2]! * k + c;
  }
  return out;
}

/** CHW floats -> HWC bytes: (value + c) * k, rounded and clamped. */
export function fromPlanar(t: Float32Array, side: number, k: number, c: number): RgbImage {
  const n = side * side;
  const data = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < 3; ch++) {
      const v = (t[ch * n + i]! + c) * k;
      data[3 * i + ch] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  return { data, width: side, height: side };
}

function scaleTo(img: RgbImage, size: number): RgbImage {
  if (img.width === size) return img;
  const k = size / img.width;
  return warpRgb(new Pyramid(img), [k, 0, 0, 0, k, 0], size, size);
}

/** The source semantics repeated over the window: [70, 27]. */
export function repeatWindow(s: Float32Array): Float32Array {
  const out = new Float32Array(SEMANTICS * WINDOW);
  for (let k = 0; k < SEMANTICS; k++) out.fill(s[k]!, k * WINDOW, (k + 1) * WINDOW);
  return out;
}

/** Frame i's target window [70, 27]: frames i-13 .. i+13, clamped (transform_semantic_target). */
export function semanticsWindow(coeffs: Float32Array, frames: number, i: number): Float32Array {
  const out = new Float32Array(SEMANTICS * WINDOW);
  for (let w = 0; w < WINDOW; w++) {
    const f = Math.min(frames - 1, Math.max(0, i - RADIUS + w));
    for (let k = 0; k < SEMANTICS; k++) out[k * WINDOW + w] = coeffs[f * SEMANTICS + k]!;
  }
  return out;
}
