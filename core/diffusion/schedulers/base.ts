/**
 * What every sampler offers the denoising loop. Steps are addressed by index (0 .. timesteps-1),
 * not by timestep value, because PNDM repeats a timestep and img2img starts part-way through.
 * All updates are in place on caller-owned Float32Arrays: no allocation per step.
 */
import { InputError } from '../../../base/errors.ts';
import type { SchedulerConfig } from './config.ts';

/** Fills a buffer with standard Gaussian samples (the seeded generator in noise.ts). */
export interface NoiseSource {
  fill(out: Float32Array): void;
}

export interface Scheduler {
  /** The sampler name it was made for (a key of the table in index.ts). */
  readonly name: string;
  readonly config: SchedulerConfig;
  /** Timestep fed to the UNet at each step index (fractional for Karras sigmas with Euler). */
  readonly timesteps: readonly number[];
  /** Multiplier for the initial pure-noise latents (text-to-image). */
  readonly initNoiseSigma: number;
  /** First step index to run (0 for text-to-image; set by setStrength for img2img). */
  readonly beginIndex: number;
  /** True when step() draws fresh noise (ancestral samplers, LCM). */
  readonly stochastic: boolean;
  setTimesteps(steps: number): void;
  /** img2img: start part-way so that `strength` of the schedule is run; returns the begin index. */
  setStrength(strength: number): number;
  /** The UNet input for step i (written to out; may be the same array as sample). */
  scaleModelInput(sample: Float32Array, i: number, out: Float32Array): Float32Array;
  /** Advance sample from step i to step i+1 in place, given the model's epsilon. */
  step(eps: Float32Array, i: number, sample: Float32Array, noise?: NoiseSource): void;
  /** Noise clean latents to the level of step i (img2img start, inpainting blend): out = q(x_i | x_0). */
  addNoise(original: Float32Array, noise: Float32Array, i: number, out: Float32Array): void;
}

/** diffusers' img2img: run the last floor(steps * strength) steps (at least one). */
export function beginIndexForStrength(steps: number, strength: number): number {
  if (!(strength > 0 && strength <= 1))
    throw new InputError('bad_strength', `Strength must be above 0 and at most 1 (got ${strength}).`);
  const init = Math.min(Math.max(1, Math.floor(steps * strength)), steps);
  return steps - init;
}

export function checkSteps(steps: number, max = 1000): void {
  if (!Number.isInteger(steps) || steps < 1 || steps > max)
    throw new InputError('bad_steps', `Steps must be a whole number from 1 to ${max} (got ${steps}).`);
}

/** Reusable scratch buffer that grows only when the latent size changes. */
export class Scratch {
  private buf = new Float32Array(0);
  get(n: number): Float32Array {
    if (this.buf.length !== n) this.buf = new Float32Array(n);
    return this.buf;
  }
}

/** Ring of history buffers for multistep solvers (model outputs of earlier steps). */
export class History {
  private bufs: Float32Array[] = [];
  private count = 0;
  constructor(private readonly size: number) {}
  reset(): void {
    this.count = 0;
  }
  /** Store a copy of x as the newest entry. */
  push(x: Float32Array): void {
    if (this.bufs.length !== this.size || this.bufs[0].length !== x.length)
      this.bufs = Array.from({ length: this.size }, () => new Float32Array(x.length));
    const slot = this.bufs[this.count % this.size];
    slot.set(x);
    this.count++;
  }
  /** k = 0 newest, 1 the one before, ... */
  get(k: number): Float32Array | undefined {
    if (k >= this.count || k >= this.size) return undefined;
    return this.bufs[(this.count - 1 - k) % this.size];
  }
  get length(): number {
    return Math.min(this.count, this.size);
  }
}
