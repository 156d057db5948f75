/**
 * Euler and Euler-ancestral (Karras et al. 2022, k-diffusion), as diffusers' EulerDiscreteScheduler
 * and EulerAncestralDiscreteScheduler: the sample lives in sigma space (x = x0 + sigma * noise),
 * the UNet sees x / sqrt(sigma^2 + 1). Spacing defaults to "linspace" (both classes), whose
 * timesteps keep their fractions (float32); sigmas are interpolated linearly between the table's
 * integer timesteps. The last step goes to sigma 0 exactly (Euler: or to sigma_min with
 * final_sigmas_type "sigma_min"; Euler-ancestral always to 0).
 */
import { beginIndexForStrength, checkSteps, type NoiseSource, type Scheduler, Scratch } from './base.ts';
import { finalSigma, type NoiseTables, noiseTables, type SchedulerConfig, sigmaAt } from './config.ts';
import { spacedTimesteps, type TimestepSpacing } from './spacing.ts';

export class EulerScheduler implements Scheduler {
  readonly name: string;
  readonly stochastic: boolean;
  timesteps: number[] = [];
  /** sigma per step index, plus a final 0. */
  sigmas: number[] = [];
  beginIndex = 0;
  initNoiseSigma = 1;
  private steps = 0;
  private readonly tables: NoiseTables;
  private readonly noiseBuf = new Scratch();

  private readonly spacing: TimestepSpacing;

  constructor(
    readonly config: SchedulerConfig,
    readonly ancestral = false,
  ) {
    this.name = ancestral ? 'euler-a' : 'euler';
    this.stochastic = ancestral;
    this.tables = noiseTables(config);
    this.spacing = config.timestepSpacing ?? 'linspace';
  }

  setTimesteps(steps: number): void {
    checkSteps(steps, this.config.numTrainTimesteps);
    this.steps = steps;
    const c = this.config;
    this.timesteps = spacedTimesteps(c.numTrainTimesteps, steps, this.spacing, c.stepsOffset, true);
    const last = this.ancestral ? 0 : finalSigma(c, this.tables);
    this.sigmas = [...this.timesteps.map((t) => sigmaAt(this.tables, t)), last];
    const max = Math.max(...this.sigmas);
    // diffusers: linspace/trailing start at sigma_max, leading at sqrt(sigma_max^2 + 1).
    this.initNoiseSigma = this.spacing === 'leading' ? Math.sqrt(max * max + 1) : max;
    this.beginIndex = 0;
  }

  setStrength(strength: number): number {
    this.beginIndex = beginIndexForStrength(this.steps, strength);
    return this.beginIndex;
  }

  scaleModelInput(sample: Float32Array, i: number, out: Float32Array): Float32Array {
    const s = this.sigmas[i];
    const c = 1 / Math.sqrt(s * s + 1);
    for (let k = 0; k < sample.length; k++) out[k] = sample[k] * c;
    return out;
  }

  step(eps: Float32Array, i: number, sample: Float32Array, noise?: NoiseSource): void {
    const sigma = this.sigmas[i];
    const next = this.sigmas[i + 1];
    if (!this.ancestral) {
      // x0 = x - sigma * eps; derivative = (x - x0) / sigma = eps; x += eps * (next - sigma).
      const dt = next - sigma;
      for (let k = 0; k < sample.length; k++) sample[k] += eps[k] * dt;
      return;
    }
    const up = Math.sqrt((next * next * (sigma * sigma - next * next)) / (sigma * sigma));
    const down = Math.sqrt(next * next - up * up);
    const dt = down - sigma;
    for (let k = 0; k < sample.length; k++) sample[k] += eps[k] * dt;
    if (up > 0) {
      if (!noise) throw new Error('euler-a needs a noise source');
      const z = this.noiseBuf.get(sample.length);
      noise.fill(z);
      for (let k = 0; k < sample.length; k++) sample[k] += z[k] * up;
    }
  }

  addNoise(original: Float32Array, noise: Float32Array, i: number, out: Float32Array): void {
    const s = this.sigmas[i];
    for (let k = 0; k < out.length; k++) out[k] = original[k] + noise[k] * s;
  }
}
