/**
 * The prepare-latents stage: per image, its seeded noise, its own scheduler, the starting latents
 * (pure noise × the scheduler's initial sigma, or the init image noised to the first step's level
 * for img2img) and, for inpainting with an ordinary UNet, the latent blending after each step.
 */
import type { DenoiseItem } from './denoise.ts';
import type { InitLatents } from './init-image.ts';
import { SeededNoise } from './noise.ts';
import type { ResolvedOptions } from './options.ts';
import { createScheduler, type SchedulerConfig } from './schedulers/index.ts';

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

export interface LatentItem extends DenoiseItem {
  seed: number;
}

/** Image n of a request (seed + n, variation seed + n). `blend` keeps the init image outside the mask. */
export function prepareLatents(
  o: ResolvedOptions,
  schedulerConfig: SchedulerConfig,
  n: number,
  hw: number,
  image: InitLatents | undefined,
  blend: boolean,
): LatentItem {
  const seed = (o.seed + n) >>> 0;
  const noise = new SeededNoise(seed);
  const scheduler = createScheduler(o.sampler, schedulerConfig);
  scheduler.setTimesteps(o.steps);
  const latents = new Float32Array(4 * hw);
  noise.fill(latents);
  if (o.variation) mixNoise(latents, (o.variation.seed + n) >>> 0, o.variation.strength);
  const init = image?.init;
  const initNoise = init ? Float32Array.from(latents) : undefined;
  if (init && o.strength !== undefined) {
    const begin = scheduler.setStrength(o.strength);
    scheduler.addNoise(init, latents, begin, latents);
  } else for (let k = 0; k < latents.length; k++) latents[k] *= scheduler.initNoiseSigma;
  const mask = image?.mask;
  let afterStep: ((i: number, lat: Float32Array) => void) | undefined;
  if (blend && mask && init && initNoise) {
    // Keep the init image outside the mask at the noise level of the next step (exactly at the end).
    const noisy = new Float32Array(4 * hw);
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
}
