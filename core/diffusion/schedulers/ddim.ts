/**
 * DDIM (Song et al. 2020), deterministic (eta = 0), epsilon prediction, as diffusers' DDIMScheduler
 * with clip_sample off. SD 1.5 sets set_alpha_to_one = false, so the last step lands on
 * alpha_bar[0] (sigma ~0.029), not on a perfectly clean sample; DDIMScheduler's own default when
 * the key is absent is true. Spacing defaults to "leading".
 */
import { beginIndexForStrength, checkSteps, type Scheduler } from './base.ts';
import { finalAlpha, noiseTables, type SchedulerConfig } from './config.ts';
import { spacedTimesteps, type TimestepSpacing } from './spacing.ts';

export class DdimScheduler implements Scheduler {
  readonly name = 'ddim';
  readonly initNoiseSigma = 1;
  readonly stochastic = false;
  timesteps: number[] = [];
  beginIndex = 0;
  private steps = 0;
  private readonly ac: Float64Array;
  private readonly finalAlpha: number;

  private readonly spacing: TimestepSpacing;

  constructor(readonly config: SchedulerConfig) {
    const tables = noiseTables(config);
    this.ac = tables.alphasCumprod;
    this.finalAlpha = finalAlpha(config, tables, true);
    this.spacing = config.timestepSpacing ?? 'leading';
  }

  setTimesteps(steps: number): void {
    checkSteps(steps, this.config.numTrainTimesteps);
    this.steps = steps;
    const c = this.config;
    this.timesteps = spacedTimesteps(c.numTrainTimesteps, steps, this.spacing, c.stepsOffset);
    this.beginIndex = 0;
  }

  setStrength(strength: number): number {
    this.beginIndex = beginIndexForStrength(this.steps, strength);
    return this.beginIndex;
  }

  scaleModelInput(sample: Float32Array, _i: number, out: Float32Array): Float32Array {
    if (out !== sample) out.set(sample);
    return out;
  }

  private alphaPrev(i: number): number {
    // diffusers: prev_t = t - T // steps (not the next list entry), alpha_bar[prev_t] or the final alpha.
    const prevT = this.timesteps[i] - Math.floor(this.config.numTrainTimesteps / this.steps);
    return prevT >= 0 ? this.ac[prevT] : this.finalAlpha;
  }

  step(eps: Float32Array, i: number, sample: Float32Array): void {
    const a = this.ac[this.timesteps[i]];
    const ap = this.alphaPrev(i);
    const sa = Math.sqrt(a);
    const sb = Math.sqrt(1 - a);
    const sap = Math.sqrt(ap);
    const sbp = Math.sqrt(1 - ap);
    for (let k = 0; k < sample.length; k++) {
      const e = eps[k];
      const x0 = (sample[k] - sb * e) / sa;
      sample[k] = sap * x0 + sbp * e;
    }
  }

  addNoise(original: Float32Array, noise: Float32Array, i: number, out: Float32Array): void {
    const a = this.ac[this.timesteps[i]];
    const sa = Math.sqrt(a);
    const sb = Math.sqrt(1 - a);
    for (let k = 0; k < out.length; k++) out[k] = sa * original[k] + sb * noise[k];
  }
}
