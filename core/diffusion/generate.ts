/**
 * The generation pipeline the job layer calls: prompt (+ negative), size, steps, guidance,
 * sampler, seed, count, optional init image + strength, mask (inpainting) and ControlNet images
 * → images (RGB + PNG) and metadata (seeds, sampler, steps, timings).
 *
 * One SdPipeline per model folder; its ONNX sessions are created on first use and kept until
 * close(). Model runs block the calling thread (ONNX Runtime), so the job layer runs this in a
 * worker thread. No prompt text or image bytes are logged.
 *
 * A run is a sequence of named stages, each in its own module: prepare controls
 * (control-images.ts), encode prompt (text-encoder.ts), encode the init image (init-image.ts),
 * identity inputs and the guided model call (guided-unet.ts), then per group of images: prepare
 * latents (latents.ts), the denoise loop (denoise.ts) and decode (below).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { CancelledError, NotAvailableError } from '../../base/errors.ts';
import { log } from '../../base/log.ts';
import type { OnnxSession, Tensor } from '../../models/onnx.ts';
import { config } from '../config.ts';
import { encodePng, type RgbImage } from '../image/codec.ts';
import { prepareControls } from './control-images.ts';
import { ControlNetRunner } from './controlnet.ts';
import { denoiseMany, type StepProgress } from './denoise.ts';
import { GuidedUnet, identityInputs } from './guided-unet.ts';
import { encodeInitImage } from './init-image.ts';
import { type LatentItem, prepareLatents } from './latents.ts';
import { SdModelFolder as Folder, type SdModelFolder, type SessionSettings } from './model-folder.ts';
import { bad, type GenerateOptions, type ResolvedOptions, resolveOptions } from './options.ts';
import type { PromptWeighting } from './prompt.ts';
import type { SamplerName } from './schedulers/index.ts';
import { type PromptEmbedding, PromptEncoder } from './text-encoder.ts';
import { UnetRunner } from './unet.ts';
import { Vae } from './vae.ts';

export { type ControlSpec, type GenerateOptions, LIMITS } from './options.ts';

const logger = log('diffusion');

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
    promptWeighting: PromptWeighting;
    /** Tokens cut off the end of "plain" prompts longer than one window (absent when none). */
    truncatedTokens?: { prompt: number; negative: number };
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

/**
 * The subset of SdPipeline.generate that inpainting callers use (template inpainting, try-on);
 * SdPipeline satisfies it, and a test can give a smaller generator.
 */
export interface InpaintGenerator {
  generate(
    o: {
      prompt: string;
      negativePrompt?: string;
      width: number;
      height: number;
      steps?: number;
      guidanceScale?: number;
      seed?: number;
      count?: number;
      initImage: RgbImage;
      mask: RgbImage;
      strength?: number;
      controls?: { model: string; image: RgbImage; scale?: number; preprocess?: 'canny' | 'none' }[];
    },
    hooks?: { signal?: AbortSignal },
  ): Promise<{ images: { rgb: RgbImage; seed: number }[] }>;
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
    let o: ResolvedOptions;
    try {
      o = resolveOptions(options); // bad input is reported at once, not after the queue
    } catch (e) {
      return Promise.reject(e);
    }
    const run = this.queue.then(() => this.run(o, options, hooks));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(
    o: ResolvedOptions,
    options: GenerateOptions,
    hooks: GenerateHooks,
  ): Promise<GenerateResult> {
    if (hooks.signal?.aborted) throw new CancelledError();
    await this.load(); // sessions are created once; their load time is not part of the timings
    const tStart = performance.now();
    const unet = this.unet!;
    const vae = this.vae!;
    const modelBefore = this.modelMs();
    if (hooks.signal?.aborted) throw new CancelledError();

    const h = o.height / 8;
    const w = o.width / 8;
    const inpaintUnet = unet.inChannels === 9;
    if (inpaintUnet && !options.mask)
      bad('mask_required', 'This model is an inpainting model: give an image and a mask (white = repaint).');

    const controls = await prepareControls(options.controls ?? [], o.width, o.height, (m) =>
      this.controlRunner(m),
    );
    if (controls.length && !unet.acceptsControl)
      throw new NotAvailableError(
        'ControlNet with this model',
        'Its UNet was exported without ControlNet residual inputs; re-export it with them (docs/generation.md).',
      );

    const t0 = performance.now();
    const { cond, uncond } = await this.encodePrompt(o);
    const textMs = performance.now() - t0;

    const tVae0 = performance.now();
    const image = await encodeInitImage(vae, options, o.width, o.height, inpaintUnet);
    let vaeMs = performance.now() - tVae0;

    const model = new GuidedUnet({
      unet,
      controls,
      cond,
      uncond,
      guidance: o.guidance,
      rescale: o.rescale,
      h,
      w,
      image,
      identity: identityInputs(unet, hooks.unetInputs),
    });
    const blend = Boolean(image?.mask) && !inpaintUnet;

    const images: GeneratedImage[] = [];
    const seeds: number[] = [];
    let denoiseMs = 0;
    let pngMs = 0;
    let stepsRun = 0;
    const group = Math.min(o.batchSize, o.count);
    for (let start = 0; start < o.count; start += group) {
      const g = Math.min(group, o.count - start);
      const items = Array.from({ length: g }, (_, j) =>
        prepareLatents(o, this.folder.scheduler, start + j, h * w, image, blend),
      );
      for (const it of items) seeds.push(it.seed);
      const sched0 = items[0].scheduler;
      stepsRun = sched0.timesteps.length - sched0.beginIndex;

      const td = performance.now();
      await denoiseMany({
        items,
        h,
        w,
        predict: model.predictor(g, sched0),
        signal: hooks.signal,
        previewEvery: options.previewEvery,
        onStep: hooks.onProgress
          ? (p) => hooks.onProgress!({ ...p, image: start + 1, images: g, count: o.count })
          : undefined,
      });
      denoiseMs += performance.now() - td;
      if (hooks.signal?.aborted) throw new CancelledError();
      const decoded = await decodeImages(vae, items, h, w, options.returnLatents === true);
      images.push(...decoded.images);
      vaeMs += decoded.vaeMs;
      pngMs += decoded.pngMs;
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
        // Counts only, never the text (diffusers warns with the cut text; we do not log prompts).
        ...(cond.truncated || uncond.truncated ? { truncatedTokens: cond.truncated + uncond.truncated } : {}),
        ms: Math.round(totalMs),
      },
      'generated',
    );
    return {
      images,
      metadata: {
        seeds,
        sampler: o.sampler,
        promptWeighting: o.weighting,
        ...(cond.truncated || uncond.truncated
          ? { truncatedTokens: { prompt: cond.truncated, negative: uncond.truncated } }
          : {}),
        steps: o.steps,
        stepsRun,
        guidanceScale: o.guidance,
        width: o.width,
        height: o.height,
        ...(o.strength !== undefined ? { strength: o.strength } : {}),
        ...(o.variation ? { variation: o.variation } : {}),
        ...(image?.mask ? { inpainting: inpaintUnet ? ('unet' as const) : ('blend' as const) } : {}),
        controls: (options.controls ?? []).map((c) => ({ model: c.model, scale: c.scale ?? 1 })),
        timings,
      },
    };
  }

  /** The encode-prompt stage: conditional and unconditional embeddings with equal window counts. */
  private encodePrompt(o: ResolvedOptions): Promise<{ cond: PromptEmbedding; uncond: PromptEmbedding }> {
    return this.text!.encodePair(o.prompt, o.negative, o.weighting);
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

/** The decode stage: VAE decode of each image's latents, then PNG encoding. */
async function decodeImages(
  vae: Vae,
  items: readonly LatentItem[],
  h: number,
  w: number,
  returnLatents: boolean,
): Promise<{ images: GeneratedImage[]; vaeMs: number; pngMs: number }> {
  const images: GeneratedImage[] = [];
  let vaeMs = 0;
  let pngMs = 0;
  for (const it of items) {
    const tv = performance.now();
    const rgb = await vae.decode(it.latents, h, w);
    vaeMs += performance.now() - tv;
    const tp = performance.now();
    const png = await encodePng(rgb);
    pngMs += performance.now() - tp;
    images.push({ rgb, png, seed: it.seed, ...(returnLatents ? { latents: it.latents } : {}) });
  }
  return { images, vaeMs, pngMs };
}
