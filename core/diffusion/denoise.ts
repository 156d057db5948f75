/**
 * The denoising loop: for each step, scale the input, ask the (guided) model for epsilon, let the
 * scheduler advance the latents in place, then report progress. Cancellation is checked before
 * every step, so an abort stops the work within one step. Buffers are allocated once per run.
 */
import { throwIfAborted } from '../../base/errors.ts';
import type { RgbImage } from '../image/codec.ts';
import { latentPreview } from './preview.ts';
import type { NoiseSource, Scheduler } from './schedulers/index.ts';

export interface StepProgress {
  /** Steps done (1-based) and the total for this image. */
  step: number;
  total: number;
  /** Cheap latent preview, every `previewEvery` steps when asked for. */
  preview?: RgbImage;
}

export interface DenoiseOptions {
  scheduler: Scheduler;
  /** [4, h, w] latents, updated in place. */
  latents: Float32Array;
  h: number;
  w: number;
  /** Epsilon for the scaled model input at step i (already guided). */
  predict: (input: Float32Array, i: number) => Promise<Float32Array>;
  noise: NoiseSource;
  signal?: AbortSignal;
  onStep?: (p: StepProgress) => void;
  previewEvery?: number;
  /** Runs after each scheduler step (inpainting's latent blending). */
  afterStep?: (i: number, latents: Float32Array) => void;
}

/** One image of a batch denoised together: its own scheduler state, latents and noise. */
export interface DenoiseItem {
  scheduler: Scheduler;
  latents: Float32Array;
  noise: NoiseSource;
  afterStep?: (i: number, latents: Float32Array) => void;
}

export interface DenoiseManyOptions {
  /** Images that share one model call per step; their schedulers must have the same timesteps. */
  items: DenoiseItem[];
  h: number;
  w: number;
  /** Guided epsilon for every item's scaled input at step i, in item order. */
  predict: (inputs: Float32Array[], i: number) => Promise<Float32Array[]>;
  signal?: AbortSignal;
  /** Progress per step; the preview shows the first item. */
  onStep?: (p: StepProgress) => void;
  previewEvery?: number;
}

export async function denoise(o: DenoiseOptions): Promise<void> {
  await denoiseMany({
    items: [{ scheduler: o.scheduler, latents: o.latents, noise: o.noise, afterStep: o.afterStep }],
    h: o.h,
    w: o.w,
    predict: async (inputs, i) => [await o.predict(inputs[0], i)],
    signal: o.signal,
    onStep: o.onStep,
    previewEvery: o.previewEvery,
  });
}

export async function denoiseMany(o: DenoiseManyOptions): Promise<void> {
  const first = o.items[0];
  const s = first.scheduler;
  const inputs = o.items.map((it) => new Float32Array(it.latents.length));
  const begin = s.beginIndex;
  const total = s.timesteps.length - begin;
  for (let i = begin; i < s.timesteps.length; i++) {
    throwIfAborted(o.signal);
    o.items.forEach((it, j) => {
      it.scheduler.scaleModelInput(it.latents, i, inputs[j]);
    });
    const eps = await o.predict(inputs, i);
    o.items.forEach((it, j) => {
      it.scheduler.step(eps[j], i, it.latents, it.noise);
      it.afterStep?.(i, it.latents);
    });
    if (o.onStep) {
      const step = i - begin + 1;
      const every = o.previewEvery ?? 0;
      const preview =
        every > 0 && (step % every === 0 || step === total)
          ? latentPreview(first.latents, o.h, o.w)
          : undefined;
      o.onStep({ step, total, preview });
    }
  }
}
