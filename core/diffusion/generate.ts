/**
 * The generation pipeline the job layer calls: prompt (+ negative), size, steps, guidance,
 * sampler, seed, count, optional init image + strength, mask (inpainting) and ControlNet images
 * → images (RGB + PNG) and metadata (seeds, sampler, steps, timings).
 *
 * One SdPipeline per model folder; its ONNX sessions are created on first use and kept until
 * close(). Model runs block the calling thread (ONNX Runtime), so the job layer runs this in a
 * worker thread. No prompt text or image bytes are logged.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { CancelledError, InputError, NotAvailableError } from '../../base/errors.ts';
import { log } from '../../base/log.ts';
import type { OnnxSession, Tensor } from '../../models/onnx.ts';
import { config } from '../config.ts';
import { encodePng, type RgbImage, resizeRgb } from '../image/codec.ts';
import { canny } from './canny.ts';
import { type ControlInput, ControlNetRunner } from './controlnet.ts';
import { denoiseMany, type StepProgress } from './denoise.ts';
import { applyGuidance } from './guidance.ts';
import { SdModelFolder as Folder, type SdModelFolder, type SessionSettings } from './model-folder.ts';
import { SeededNoise } from './noise.ts';
import { createScheduler, isSamplerName, SAMPLERS, type SamplerName } from './schedulers/index.ts';
import { PromptEncoder } from './text-encoder.ts';
import { type Residuals, UnetRunner } from './unet.ts';
import { rgbToPlanar, Vae } from './vae.ts';

const logger = log('diffusion');

export interface ControlSpec {
  /** A ControlNet name known to the pipeline (folder "controlnet-<name>" or given at creation). */
  model: string;
  /** Conditioning image (any size; resized to the output size). */
  image: RgbImage;
  /** Conditioning scale; 1 by default. */
  scale?: number;
  /** "canny" computes edges from the image here; "none" uses it as given (e.g. an OpenPose image). */
  preprocess?: 'canny' | 'none';
}

export interface GenerateOptions {
  prompt: string;
  negativePrompt?: string;
  width?: number;
  height?: number;
  steps?: number;
  guidanceScale?: number;
  /** 0..1; 0 (default) disables guidance rescale. */
  guidanceRescale?: number;
  /** Default FACECHAIN_SD_SAMPLER (dpm-single, FaceChain's sampler). */
  sampler?: string;
  /** 0 .. 2^32-1; random when absent. Image i uses seed + i. */
  seed?: number;
  count?: number;
  /** Images denoised together in one model call per step (1..8, default 1; FaceChain uses 5). */
  batchSize?: number;
  initImage?: RgbImage;
  /** img2img / inpainting strength, (0, 1]; default 0.75 with an init image. */
  strength?: number;
  /** White = repaint. Needs initImage. A 9-channel UNet is used as such; others blend latents. */
  mask?: RgbImage;
  controls?: ControlSpec[];
  /** Send a cheap latent preview every N steps (0 = never). */
  previewEvery?: number;
  /** Also return the final latents (for latent-space checks and latent upscaling). */
  returnLatents?: boolean;
  /**
   * "More like this": mix each image's starting noise with the noise of `seed` (strength 0 = the
   * original image, 1 = the variation seed's image). Image n uses variation seed + n as well.
   */
  variation?: { seed: number; strength: number };
}

export interface GeneratedImage {
  rgb: RgbImage;
  png: Uint8Array;
  seed: number;
  /** Final scaled latents [4, height/8, width/8], when asked for. */
  latents?: Float32Array;
}

export interface Timings {
  totalMs: number;
  textMs: number;
  denoiseMs: number;
  vaeMs: number;
  pngMs: number;
  /** Time inside ONNX Runtime (text encoder, UNet, ControlNets, VAE). */
  modelMs: number;
  /** Everything else: the project's own work. */
  ownMs: number;
}

export interface GenerateResult {
  images: GeneratedImage[];
  metadata: {
    seeds: number[];
    sampler: SamplerName;
    steps: number;
    /** UNet steps actually run per image (fewer with img2img strength < 1; PNDM adds one warm-up call). */
    stepsRun: number;
    guidanceScale: number;
    width: number;
    height: number;
    strength?: number;
    variation?: { seed: number; strength: number };
    inpainting?: 'unet' | 'blend';
    controls: { model: string; scale: number }[];
    timings: Timings;
  };
}

export interface Progress extends StepProgress {
  /** 1-based index of the first image being denoised, how many are denoised together, and the total. */
  image: number;
  images: number;
  count: number;
}

export interface GenerateHooks {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /**
   * Values for the UNet's extra inputs (FACT's face tokens and adapter scale, a LoRA switcher's
   * lifted weights), asked for once per batch size. With CFG `batch` = 2 x `images`, rows ordered
   * [unconditional x images, conditional x images]; without CFG `batch` = `images`.
   */
  unetInputs?: (info: { batch: number; images: number }) => Record<string, Tensor>;
}

export const LIMITS = {
  minSize: 64,
  maxSize: 2048,
  maxSteps: 150,
  maxCount: 8,
  maxGuidance: 30,
  maxPromptChars: 4000,
} as const;

function bad(code: string, message: string): never {
  throw new InputError(code, message);
}

function checkInt(name: string, v: number, min: number, max: number, code: string): void {
  if (!Number.isInteger(v) || v < min || v > max)
    bad(code, `${name} must be a whole number from ${min} to ${max} (got ${v}).`);
}

interface Resolved {
  prompt: string;
  negative: string;
  width: number;
  height: number;
  steps: number;
  guidance: number;
  rescale: number;
  sampler: SamplerName;
  seed: number;
  count: number;
  batchSize: number;
  strength?: number;
  variation?: { seed: number; strength: number };
}

function resolve(o: GenerateOptions): Resolved {
  if (typeof o.prompt !== 'string') bad('bad_prompt', 'A prompt is required.');
  const negative = o.negativePrompt ?? '';
  if (o.prompt.length > LIMITS.maxPromptChars || negative.length > LIMITS.maxPromptChars)
    bad('prompt_too_long', `Prompts are limited to ${LIMITS.maxPromptChars} characters.`);
  const width = o.width ?? 512;
  const height = o.height ?? 512;
  for (const [n, v] of [
    ['Width', width],
    ['Height', height],
  ] as const) {
    checkInt(n, v, LIMITS.minSize, LIMITS.maxSize, 'bad_size');
    if (v % 8) bad('bad_size', `${n} must be a multiple of 8 (got ${v}); try ${Math.round(v / 8) * 8}.`);
  }
  const steps = o.steps ?? 30;
  checkInt('Steps', steps, 1, LIMITS.maxSteps, 'bad_steps');
  const guidance = o.guidanceScale ?? 7.5;
  if (!(guidance >= 0 && guidance <= LIMITS.maxGuidance))
    bad('bad_guidance', `Guidance scale must be from 0 to ${LIMITS.maxGuidance} (got ${guidance}).`);
  const rescale = o.guidanceRescale ?? 0;
  if (!(rescale >= 0 && rescale <= 1))
    bad('bad_guidance', `Guidance rescale must be from 0 to 1 (got ${rescale}).`);
  const sampler = o.sampler ?? config().FACECHAIN_SD_SAMPLER;
  if (!isSamplerName(sampler))
    bad('bad_sampler', `Unknown sampler "${sampler}". Choose one of: ${SAMPLERS.join(', ')}.`);
  const count = o.count ?? 1;
  checkInt('Image count', count, 1, LIMITS.maxCount, 'bad_count');
  const batchSize = o.batchSize ?? 1;
  checkInt('Batch size', batchSize, 1, LIMITS.maxCount, 'bad_count');
  const seed = o.seed ?? Math.floor(Math.random() * 0x100000000);
  checkInt('Seed', seed, 0, 0xffffffff, 'bad_seed');
  if (o.mask && !o.initImage) bad('mask_without_image', 'A mask needs the image it applies to (initImage).');
  let strength: number | undefined;
  const variation = o.variation;
  if (variation) {
    checkInt('Variation seed', variation.seed, 0, 0xffffffff, 'bad_seed');
    if (!(variation.strength >= 0 && variation.strength <= 1))
      bad('bad_variation', `Variation strength must be from 0 to 1 (got ${variation.strength}).`);
  }
  if (o.initImage) {
    strength = o.strength ?? (o.mask ? 1 : 0.75);
    if (!(strength > 0 && strength <= 1))
      bad('bad_strength', `Strength must be above 0 and at most 1 (got ${strength}).`);
  } else if (o.strength !== undefined)
    bad('strength_without_image', 'Strength applies only with an init image.');
  return {
    prompt: o.prompt,
    negative,
    width,
    height,
    steps,
    guidance,
    rescale,
    sampler,
    seed,
    count,
    batchSize,
    strength,
    variation,
  };
}

/**
 * Blend Gaussian noise with the noise of another seed, keeping unit variance:
 * (1 - v) a + v b, divided by sqrt((1 - v)^2 + v^2) (independent Gaussians add in variance). Only
 * exactly-rounded operations, so the result is as reproducible as the seeds themselves.
 */
export function mixNoise(latents: Float32Array, seed: number, v: number): void {
  if (v === 0) return;
  const other = new Float32Array(latents.length);
  new SeededNoise(seed).fill(other);
  const norm = Math.sqrt((1 - v) * (1 - v) + v * v);
  for (let k = 0; k < latents.length; k++) latents[k] = ((1 - v) * latents[k] + v * other[k]) / norm;
}

/** Block-average a mask image to latent resolution; 1 = repaint (luminance >= 0.5). */
function latentMask(mask: RgbImage, h: number, w: number): Float32Array {
  const out = new Float32Array(h * w);
  const W = mask.width;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let dy = 0; dy < 8; dy++)
        for (let dx = 0; dx < 8; dx++) {
          const p = ((y * 8 + dy) * W + x * 8 + dx) * 3;
          s += mask.data[p] + mask.data[p + 1] + mask.data[p + 2];
        }
      out[y * w + x] = s / (64 * 3 * 255) >= 0.5 ? 1 : 0;
    }
  return out;
}

export class SdPipeline {
  private text?: PromptEncoder;
  private unet?: UnetRunner;
  private vae?: Vae;
  private readonly controlRunners = new Map<string, Promise<ControlNetRunner>>();
  private readonly loadedControls = new Set<ControlNetRunner>();
  readonly controlNets: Map<string, string>;

  constructor(
    readonly folder: SdModelFolder,
    controlNets: Record<string, string> = {},
  ) {
    this.controlNets = new Map(Object.entries(controlNets));
    // ControlNets shipped inside the model folder: controlnet/ or controlnet-<name>/.
    for (const e of readdirSync(folder.dir, { withFileTypes: true })) {
      const m = /^controlnet(?:-([\w.-]+))?$/.exec(e.name);
      const file = path.join(folder.dir, e.name, 'model.onnx');
      if (e.isDirectory() && m && existsSync(file) && !this.controlNets.has(m[1] ?? 'controlnet'))
        this.controlNets.set(m[1] ?? 'controlnet', file);
    }
  }

  /**
   * Open a model folder. `unet` replaces the folder's UNet: a model file (loaded and disposed with
   * the folder's sessions; e.g. FACT's UNet) or a session someone else owns (e.g. a LoRA switcher's
   * lifted session; not disposed here).
   */
  static open(
    dir: string,
    opts: SessionSettings & { controlNets?: Record<string, string>; unet?: string | OnnxSession } = {},
  ): SdPipeline {
    const p = new SdPipeline(Folder.open(dir, opts), opts.controlNets);
    p.unetSource = opts.unet;
    return p;
  }

  private unetSource?: string | OnnxSession;

  /** Create the sessions that every generation needs (idempotent). */
  async load(): Promise<void> {
    this.text ??= new PromptEncoder(
      this.folder.tokenizer,
      await this.folder.session('text_encoder'),
      config().FACECHAIN_SD_PROMPT_CACHE,
    );
    if (!this.unet) {
      const src = this.unetSource;
      const session =
        src === undefined
          ? await this.folder.session('unet')
          : typeof src === 'string'
            ? await this.folder.session('unet', src)
            : src;
      this.unet = new UnetRunner(session, await this.folder.unetInChannels(session));
    }
    this.vae ??= new Vae(
      await this.folder.session('vae_decoder'),
      this.folder.has('vae_encoder') ? await this.folder.session('vae_encoder') : undefined,
      this.folder.scalingFactor,
    );
  }

  private controlRunner(name: string): Promise<ControlNetRunner> {
    const file = this.controlNets.get(name);
    if (!file)
      throw new NotAvailableError(
        `ControlNet "${name}"`,
        `Available: ${[...this.controlNets.keys()].join(', ') || 'none'}. Export it into the model folder as controlnet-${name}/model.onnx (docs/generation.md).`,
      );
    let r = this.controlRunners.get(name);
    if (!r) {
      r = this.folder.session(`controlnet-${name}`, file).then((s) => {
        const runner = new ControlNetRunner(s);
        this.loadedControls.add(runner);
        return runner;
      });
      this.controlRunners.set(name, r);
    }
    return r;
  }

  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Generate images. Calls on one pipeline run one after another: the model runners reuse their
   * input buffers, which ONNX Runtime may still be reading while another call would refill them.
   */
  generate(options: GenerateOptions, hooks: GenerateHooks = {}): Promise<GenerateResult> {
    let o: Resolved;
    try {
      o = resolve(options); // bad input is reported at once, not after the queue
    } catch (e) {
      return Promise.reject(e);
    }
    const run = this.queue.then(() => this.run(o, options, hooks));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(o: Resolved, options: GenerateOptions, hooks: GenerateHooks): Promise<GenerateResult> {
    if (hooks.signal?.aborted) throw new CancelledError();
    await this.load(); // sessions are created once; their load time is not part of the timings
    const tStart = performance.now();
    const text = this.text!;
    const unet = this.unet!;
    const vae = this.vae!;
    const modelBefore = this.modelMs();
    if (hooks.signal?.aborted) throw new CancelledError();

    const h = o.height / 8;
    const w = o.width / 8;
    const hw = h * w;
    const inpaintUnet = unet.inChannels === 9;
    if (inpaintUnet && !options.mask)
      bad('mask_required', 'This model is an inpainting model: give an image and a mask (white = repaint).');

    // Conditioning images (resized to the output size) and ControlNet runners.
    const controls: ControlInput[] = [];
    for (const c of options.controls ?? []) {
      const scale = c.scale ?? 1;
      if (!(scale >= 0 && scale <= 2))
        bad('bad_control_scale', `Control scale must be from 0 to 2 (got ${scale}).`);
      const runner = await this.controlRunner(c.model);
      let img = await resizeRgb(c.image, o.width, o.height);
      if (c.preprocess === 'canny') img = canny(img);
      controls.push({ runner, image: rgbToPlanar(img, 0, 1), scale });
    }
    if (controls.length && !unet.acceptsControl)
      throw new NotAvailableError(
        'ControlNet with this model',
        'Its UNet was exported without ControlNet residual inputs; re-export it with them (docs/generation.md).',
      );

    // Text.
    const t0 = performance.now();
    const useCfg = o.guidance > 1;
    const { cond, uncond } = await text.encodePair(o.prompt, o.negative);
    const textMs = performance.now() - t0;

    // Init image, mask, masked-image latents.
    let init: Float32Array | undefined;
    let mask: Float32Array | undefined;
    let masked: Float32Array | undefined;
    const tVae0 = performance.now();
    if (options.initImage) {
      const img = await resizeRgb(options.initImage, o.width, o.height);
      init = await vae.encode(img);
      if (options.mask) {
        const m = await resizeRgb(options.mask, o.width, o.height);
        mask = latentMask(m, h, w);
        if (inpaintUnet) {
          // The masked image: repaint area blanked (0 in [-1, 1] terms is mid-grey; diffusers uses 0).
          const keep = { ...img, data: new Uint8Array(img.data) };
          for (let p = 0; p < img.width * img.height; p++) {
            const mv = (m.data[p * 3] + m.data[p * 3 + 1] + m.data[p * 3 + 2]) / (3 * 255);
            if (mv >= 0.5) keep.data[p * 3] = keep.data[p * 3 + 1] = keep.data[p * 3 + 2] = 128;
          }
          masked = await vae.encode(keep);
        }
      }
    }
    let vaeMs = performance.now() - tVae0;

    const C = unet.inChannels;
    const n4 = 4 * hw;
    const group = Math.min(o.batchSize, o.count);
    // Model-call buffers per group size (the last group may be smaller): rows are
    // [uncond x g, cond x g] with CFG (diffusers' order), [cond x g] without.
    interface GroupBuffers {
      rows: number;
      ehs: Float32Array;
      unetIn: Float32Array;
      ctrlIn: Float32Array;
      extra?: Record<string, Tensor>;
      residuals?: Residuals;
      eps: Float32Array[];
    }
    const perSize = new Map<number, GroupBuffers>();
    const buffersFor = (g: number): GroupBuffers => {
      const hit = perSize.get(g);
      if (hit) return hit;
      const rows = useCfg ? 2 * g : g;
      const L = cond.data.length;
      const ehsG = new Float32Array(rows * L);
      for (let r = 0; r < rows; r++) ehsG.set(useCfg && r < g ? uncond.data : cond.data, r * L);
      const unetIn = new Float32Array(rows * C * hw);
      const ctrlIn = C === 4 ? unetIn : new Float32Array(rows * n4);
      if (inpaintUnet)
        for (let r = 0; r < rows; r++) {
          unetIn.set(mask!, (r * C + 4) * hw);
          unetIn.set(masked!, (r * C + 5) * hw);
        }
      const extra = unet.otherInputs.length ? hooks.unetInputs?.({ batch: rows, images: g }) : undefined;
      const eps = Array.from({ length: g }, () => new Float32Array(n4));
      const b: GroupBuffers = { rows, ehs: ehsG, unetIn, ctrlIn, extra, eps };
      perSize.set(g, b);
      return b;
    };

    const images: GeneratedImage[] = [];
    const seeds: number[] = [];
    let denoiseMs = 0;
    let pngMs = 0;
    let stepsRun = 0;
    for (let start = 0; start < o.count; start += group) {
      const g = Math.min(group, o.count - start);
      const buf = buffersFor(g);
      const items = Array.from({ length: g }, (_, j) => {
        const n = start + j;
        const seed = (o.seed + n) >>> 0;
        seeds.push(seed);
        const noise = new SeededNoise(seed);
        const scheduler = createScheduler(o.sampler, this.folder.scheduler);
        scheduler.setTimesteps(o.steps);
        const latents = new Float32Array(n4);
        noise.fill(latents);
        if (o.variation) mixNoise(latents, (o.variation.seed + n) >>> 0, o.variation.strength);
        const initNoise = init ? Float32Array.from(latents) : undefined;
        if (init && o.strength !== undefined) {
          const begin = scheduler.setStrength(o.strength);
          scheduler.addNoise(init, latents, begin, latents);
        } else for (let k = 0; k < latents.length; k++) latents[k] *= scheduler.initNoiseSigma;
        // Blend inpainting for ordinary UNets: keep the init image outside the mask at the noise
        // level of the next step (and exactly at the end).
        let afterStep: ((i: number, lat: Float32Array) => void) | undefined;
        if (mask && !inpaintUnet && init && initNoise) {
          const noisy = new Float32Array(n4);
          afterStep = (i, lat) => {
            const last = i + 1 >= scheduler.timesteps.length;
            if (!last) scheduler.addNoise(init, initNoise, i + 1, noisy);
            const src = last ? init : noisy;
            for (let c = 0; c < 4; c++)
              for (let p = 0; p < hw; p++) {
                const k = c * hw + p;
                const m = mask[p];
                lat[k] = m * lat[k] + (1 - m) * src[k];
              }
          };
        }
        return { seed, noise, scheduler, latents, afterStep };
      });
      const sched0 = items[0].scheduler;
      stepsRun = sched0.timesteps.length - sched0.beginIndex;

      const predict = async (inputs: Float32Array[], i: number): Promise<Float32Array[]> => {
        const t = sched0.timesteps[i];
        for (let r = 0; r < buf.rows; r++) {
          const input = inputs[r % g];
          buf.unetIn.set(input, r * C * hw);
          if (buf.ctrlIn !== buf.unetIn) buf.ctrlIn.set(input, r * n4);
        }
        for (let c = 0; c < controls.length; c++)
          buf.residuals = await controls[c].runner.run(
            buf.ctrlIn,
            buf.rows,
            h,
            w,
            t,
            buf.ehs,
            cond.seqLen,
            controls[c],
            buf.residuals,
            c > 0,
          );
        const out = await unet.predict(
          buf.unetIn,
          buf.rows,
          h,
          w,
          t,
          buf.ehs,
          cond.seqLen,
          controls.length ? buf.residuals : undefined,
          buf.extra,
        );
        for (let j = 0; j < g; j++) {
          if (useCfg) applyGuidance(out, o.guidance, o.rescale, buf.eps[j], j * n4, (g + j) * n4);
          else buf.eps[j].set(out.subarray(j * n4, (j + 1) * n4));
        }
        return buf.eps;
      };

      const td = performance.now();
      await denoiseMany({
        items,
        h,
        w,
        predict,
        signal: hooks.signal,
        previewEvery: options.previewEvery,
        onStep: hooks.onProgress
          ? (p) => hooks.onProgress!({ ...p, image: start + 1, images: g, count: o.count })
          : undefined,
      });
      denoiseMs += performance.now() - td;
      if (hooks.signal?.aborted) throw new CancelledError();
      for (const it of items) {
        const tv = performance.now();
        const rgb = await vae.decode(it.latents, h, w);
        vaeMs += performance.now() - tv;
        const tp = performance.now();
        const png = await encodePng(rgb);
        pngMs += performance.now() - tp;
        images.push({ rgb, png, seed: it.seed, ...(options.returnLatents ? { latents: it.latents } : {}) });
      }
    }
    const totalMs = performance.now() - tStart;
    const modelMs = this.modelMs() - modelBefore;
    const timings: Timings = { totalMs, textMs, denoiseMs, vaeMs, pngMs, modelMs, ownMs: totalMs - modelMs };
    logger.info(
      {
        sampler: o.sampler,
        steps: o.steps,
        count: o.count,
        width: o.width,
        height: o.height,
        ms: Math.round(totalMs),
      },
      'generated',
    );
    return {
      images,
      metadata: {
        seeds,
        sampler: o.sampler,
        steps: o.steps,
        stepsRun,
        guidanceScale: o.guidance,
        width: o.width,
        height: o.height,
        ...(o.strength !== undefined ? { strength: o.strength } : {}),
        ...(o.variation ? { variation: o.variation } : {}),
        ...(mask ? { inpainting: inpaintUnet ? ('unet' as const) : ('blend' as const) } : {}),
        controls: (options.controls ?? []).map((c) => ({ model: c.model, scale: c.scale ?? 1 })),
        timings,
      },
    };
  }

  /** Milliseconds spent inside ONNX Runtime so far, over all of this pipeline's models. */
  private modelMs(): number {
    let ms = (this.text?.modelMs ?? 0) + (this.unet?.modelMs ?? 0) + (this.vae?.modelMs ?? 0);
    for (const r of this.loadedControls) ms += r.modelMs;
    return ms;
  }

  async close(): Promise<void> {
    await this.folder.close();
    this.text = undefined;
    this.unet = undefined;
    this.vae = undefined;
    this.controlRunners.clear();
    this.loadedControls.clear();
  }
}
