/**
 * LCM (Latent Consistency Models, Luo et al. 2023), as diffusers' LCMScheduler: timesteps picked
 * from the 50-step distillation schedule, a consistency-function boundary condition
 * (c_skip, c_out with sigma_data 0.5 and timestep scaling 10), fresh noise between steps.
 * Needs an LCM-distilled UNet or LCM-LoRA for good images; any epsilon model runs. LCMScheduler
 * has no timestep spacing of its own (timestep_spacing and steps_offset are not used), and its
 * last step returns the denoised sample without adding noise.
 */
import { beginIndexForStrength, checkSteps, type NoiseSource, type Scheduler, Scratch } from './base.ts';
import { finalAlpha, noiseTables, type SchedulerConfig } from './config.ts';

export class LcmScheduler implements Scheduler {
  readonly name = 'lcm';
  readonly initNoiseSigma = 1;
  readonly stochastic = true;
  timesteps: number[] = [];
  beginIndex = 0;
  private steps = 0;
  private readonly ac: Float64Array;
  private readonly finalAlpha: number;
  private readonly noiseBuf = new Scratch();

  constructor(readonly config: SchedulerConfig) {
    const tables = noiseTables(config);
    this.ac = tables.alphasCumprod;
    this.finalAlpha = finalAlpha(config, tables, true);
  }

  /** diffusers' LCMScheduler.set_timesteps(steps, strength). */
  private schedule(steps: number, strength: number): number[] {
    const origin = this.config.originalInferenceSteps;
    const k = Math.floor(this.config.numTrainTimesteps / origin);
    const count = Math.floor(origin * strength);
    if (count < 1) return [k - 1];
    const originTs: number[] = [];
    for (let j = count; j >= 1; j--) originTs.push(j * k - 1);
    const n = Math.min(steps, originTs.length);
    const out: number[] = [];
    for (let j = 0; j < n; j++) out.push(originTs[Math.floor((j * originTs.length) / n)]);
    return out;
  }

  setTimesteps(steps: number): void {
    checkSteps(steps, this.config.originalInferenceSteps);
    this.steps = steps;
    this.timesteps = this.schedule(steps, 1);
    this.beginIndex = 0;
  }

  /** LCM shortens the distillation schedule itself rather than skipping steps. */
  setStrength(strength: number): number {
    beginIndexForStrength(this.steps, strength);
    this.timesteps = this.schedule(this.steps, strength);
    this.beginIndex = 0;
    return 0;
  }

  scaleModelInput(sample: Float32Array, _i: number, out: Float32Array): Float32Array {
    if (out !== sample) out.set(sample);
    return out;
  }

  step(eps: Float32Array, i: number, sample: Float32Array, noise?: NoiseSource): void {
    const t = this.timesteps[i];
    const last = i === this.timesteps.length - 1;
    const prevT = last ? t : this.timesteps[i + 1];
    const a = this.ac[t];
    const ap = prevT >= 0 ? this.ac[prevT] : this.finalAlpha;
    const scaled = t * this.config.timestepScaling;
    const sd2 = 0.25; // sigma_data^2
    const cSkip = sd2 / (scaled * scaled + sd2);
    const cOut = scaled / Math.sqrt(scaled * scaled + sd2);
    const sa = Math.sqrt(a);
    const sb = Math.sqrt(1 - a);
    for (let k = 0; k < sample.length; k++) {
      const x0 = (sample[k] - sb * eps[k]) / sa;
      sample[k] = cOut * x0 + cSkip * sample[k];
    }
    if (last) return;
    if (!noise) throw new Error('lcm needs a noise source');
    const z = this.noiseBuf.get(sample.length);
    noise.fill(z);
    const sap = Math.sqrt(ap);
    const sbp = Math.sqrt(1 - ap);
    for (let k = 0; k < sample.length; k++) sample[k] = sap * sample[k] + sbp * z[k];
  }

  addNoise(original: Float32Array, noise: Float32Array, i: number, out: Float32Array): void {
    const a = this.ac[this.timesteps[i]];
    const sa = Math.sqrt(a);
    const sb = Math.sqrt(1 - a);
    for (let k = 0; k < out.length; k++) out[k] = sa * original[k] + sb * noise[k];
  }
}
