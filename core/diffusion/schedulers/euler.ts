/**
 * Euler and Euler-ancestral (Karras et al. 2022, k-diffusion), as diffusers' EulerDiscreteScheduler
 * and EulerAncestralDiscreteScheduler: the sample lives in sigma space (x = x0 + sigma * noise),
 * the UNet sees x / sqrt(sigma^2 + 1), and the last step goes to sigma = 0 exactly.
 */
import {
  beginIndexForStrength,
  checkSteps,
  type NoiseSource,
  type SamplerName,
  type Scheduler,
  Scratch,
} from './base.ts';
import {
  type NoiseTables,
  noiseTables,
  type SchedulerConfig,
  sigmaAt,
  spacedTimesteps,
  type TimestepSpacing,
} from './config.ts';

export class EulerScheduler implements Scheduler {
  readonly name: SamplerName;
  readonly stochastic: boolean;
  timesteps: number[] = [];
  /** sigma per step index, plus a final 0. */
  sigmas: number[] = [];
  beginIndex = 0;
  initNoiseSigma = 1;
  private steps = 0;
  private readonly tables: NoiseTables;
  private readonly noiseBuf = new Scratch();

  constructor(
    readonly config: SchedulerConfig,
    readonly ancestral = false,
    private readonly spacing: TimestepSpacing = config.timestepSpacing ?? 'leading',
  ) {
    this.name = ancestral ? 'euler-a' : 'euler';
    this.stochastic = ancestral;
    this.tables = noiseTables(config);
  }

  setTimesteps(steps: number): void {
    checkSteps(steps, this.config.numTrainTimesteps);
    this.steps = steps;
    const T = this.config.numTrainTimesteps;
    this.timesteps =
      this.spacing === 'linspace'
        ? Array.from({ length: steps }, (_, k) => ((steps - 1 - k) * (T - 1)) / (steps - 1 || 1))
        : spacedTimesteps(this.config, steps, this.spacing);
    this.sigmas = [...this.timesteps.map((t) => sigmaAt(this.tables, t)), 0];
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
