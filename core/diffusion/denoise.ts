/**
 * The denoising loop: for each step, scale the input, ask the (guided) model for epsilon, let the
 * scheduler advance the latents in place, then report progress. Cancellation is checked before
 * every step, so an abort stops the work within one step. Buffers are allocated once per run.
 */
import { throwIfAborted } from '../errors.ts';
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

export async function denoise(o: DenoiseOptions): Promise<void> {
  const s = o.scheduler;
  const input = new Float32Array(o.latents.length);
  const begin = s.beginIndex;
  const total = s.timesteps.length - begin;
  for (let i = begin; i < s.timesteps.length; i++) {
    throwIfAborted(o.signal);
    s.scaleModelInput(o.latents, i, input);
    const eps = await o.predict(input, i);
    s.step(eps, i, o.latents, o.noise);
    o.afterStep?.(i, o.latents);
    if (o.onStep) {
      const step = i - begin + 1;
      const every = o.previewEvery ?? 0;
      const preview =
        every > 0 && (step % every === 0 || step === total) ? latentPreview(o.latents, o.h, o.w) : undefined;
      o.onStep({ step, total, preview });
    }
  }
}
