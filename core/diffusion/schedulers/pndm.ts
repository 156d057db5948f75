/**
 * PNDM in its PLMS form (skip_prk_steps, as SD 1.5's config sets and FaceChain-FACT samples with),
 * following diffusers' PNDMScheduler.step_plms: a 4th-order linear multistep on epsilon with a
 * warm-up that repeats the second timestep, then the PNDM transfer to the previous timestep.
 */
import {
  beginIndexForStrength,
  checkSteps,
  History,
  type SamplerName,
  type Scheduler,
  Scratch,
} from './base.ts';
import { noiseTables, type SchedulerConfig, spacedTimesteps, type TimestepSpacing } from './config.ts';

export class PndmScheduler implements Scheduler {
  readonly name: SamplerName = 'pndm';
  readonly initNoiseSigma = 1;
  readonly stochastic = false;
  timesteps: number[] = [];
  beginIndex = 0;
  private steps = 0;
  private counter = 0;
  private readonly ets = new History(4);
  private readonly curSample = new Scratch();
  private readonly combined = new Scratch();
  private readonly ac: Float64Array;
  private readonly finalAlpha: number;

  constructor(
    readonly config: SchedulerConfig,
    private readonly spacing: TimestepSpacing = config.timestepSpacing ?? 'leading',
  ) {
    this.ac = noiseTables(config).alphasCumprod;
    this.finalAlpha = config.setAlphaToOne ? 1 : this.ac[0];
  }

  setTimesteps(steps: number): void {
    checkSteps(steps, this.config.numTrainTimesteps);
    this.steps = steps;
    this.timesteps = this.plms(spacedTimesteps(this.config, steps, this.spacing).reverse());
    this.beginIndex = 0;
    this.counter = 0;
    this.ets.reset();
  }

  /** Ascending base timesteps → [:-1] + [-2] + [-1], reversed: the second-largest repeats (warm-up). */
  private plms(asc: number[]): number[] {
    const out = asc.length > 1 ? [...asc.slice(0, -1), asc[asc.length - 2], asc[asc.length - 1]] : asc;
    return out.reverse();
  }

  /**
   * img2img: rebuild the PLMS list from the last floor(steps * strength) base timesteps, so the
   * warm-up repeats a timestep of the shortened run. (diffusers slices the full list instead, which
   * starts the warm-up without its repeated timestep and skips an interval; the oracle test shows
   * the difference.) The run then starts at index 0.
   */
  setStrength(strength: number): number {
    const begin = beginIndexForStrength(this.steps, strength);
    const asc = spacedTimesteps(this.config, this.steps, this.spacing).reverse();
    this.timesteps = this.plms(asc.slice(0, this.steps - begin));
    this.beginIndex = 0;
    this.counter = 0;
    this.ets.reset();
    return 0;
  }

  scaleModelInput(sample: Float32Array, _i: number, out: Float32Array): Float32Array {
    if (out !== sample) out.set(sample);
    return out;
  }

  step(eps: Float32Array, i: number, sample: Float32Array): void {
    const ratio = Math.floor(this.config.numTrainTimesteps / this.steps);
    let t = this.timesteps[i];
    let prevT = t - ratio;
    if (this.counter !== 1) this.ets.push(eps);
    else {
      prevT = t;
      t = t + ratio;
    }
    const n = sample.length;
    const m = this.combined.get(n);
    const e0 = this.ets.get(0)!;
    if (this.ets.length === 1 && this.counter === 0) {
      m.set(eps);
      this.curSample.get(n).set(sample);
    } else if (this.ets.length === 1 && this.counter === 1) {
      // Second call at the repeated timestep: average, and restart from the saved sample.
      for (let k = 0; k < n; k++) m[k] = (eps[k] + e0[k]) / 2;
      sample.set(this.curSample.get(n));
    } else if (this.ets.length === 2) {
      const e1 = this.ets.get(1)!;
      for (let k = 0; k < n; k++) m[k] = (3 * e0[k] - e1[k]) / 2;
    } else if (this.ets.length === 3) {
      const e1 = this.ets.get(1)!;
      const e2 = this.ets.get(2)!;
      for (let k = 0; k < n; k++) m[k] = (23 * e0[k] - 16 * e1[k] + 5 * e2[k]) / 12;
    } else {
      const e1 = this.ets.get(1)!;
      const e2 = this.ets.get(2)!;
      const e3 = this.ets.get(3)!;
      for (let k = 0; k < n; k++) m[k] = (55 * e0[k] - 59 * e1[k] + 37 * e2[k] - 9 * e3[k]) / 24;
    }
    const a = this.ac[t];
    const ap = prevT >= 0 ? this.ac[prevT] : this.finalAlpha;
    const b = 1 - a;
    const bp = 1 - ap;
    const sampleCoeff = Math.sqrt(ap / a);
    const denom = a * Math.sqrt(bp) + Math.sqrt(a * b * ap);
    const c = (ap - a) / denom;
    for (let k = 0; k < n; k++) sample[k] = sampleCoeff * sample[k] - c * m[k];
    this.counter++;
  }

  addNoise(original: Float32Array, noise: Float32Array, i: number, out: Float32Array): void {
    const a = this.ac[this.timesteps[i]];
    const sa = Math.sqrt(a);
    const sb = Math.sqrt(1 - a);
    for (let k = 0; k < out.length; k++) out[k] = sa * original[k] + sb * noise[k];
  }
}
