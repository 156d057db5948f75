/**
 * PNDM as diffusers' PNDMScheduler (Liu et al. 2022), epsilon prediction, in its two forms:
 * - skip_prk_steps true (SD 1.5's config, FaceChain-FACT's sampler): PLMS, a 4th-order linear
 *   multistep on epsilon whose warm-up repeats the second timestep (step_plms);
 * - skip_prk_steps false (PNDMScheduler's default when the key is absent): a Runge-Kutta warm-up
 *   of 12 model calls around the 4 largest timesteps (half steps of (T // n) // 2), then PLMS
 *   (step_prk), n + 9 model calls in all.
 * Every update is the PNDM transfer from t to prev_t = t - T // n (not the next listed timestep,
 * which differs with "trailing" and "linspace" spacing); prev_t < 0 lands on the final alpha.
 * Spacing defaults to "leading", set_alpha_to_one to false.
 */
import { InputError } from '../../../base/errors.ts';
import { beginIndexForStrength, checkSteps, History, type Scheduler, Scratch } from './base.ts';
import { finalAlpha, noiseTables, type SchedulerConfig } from './config.ts';
import { spacedTimesteps, type TimestepSpacing } from './spacing.ts';

/** diffusers' PNDM order: the Runge-Kutta warm-up covers this many timesteps. */
const PNDM_ORDER = 4;

export class PndmScheduler implements Scheduler {
  readonly name = 'pndm';
  readonly initNoiseSigma = 1;
  readonly stochastic = false;
  timesteps: number[] = [];
  beginIndex = 0;
  /** Model calls of the Runge-Kutta warm-up at the start of `timesteps` (0 with skip_prk_steps). */
  prkCalls = 0;
  private steps = 0;
  private counter = 0;
  private readonly ets = new History(4);
  private readonly curSample = new Scratch();
  private readonly combined = new Scratch();
  private readonly rkSum = new Scratch();
  private readonly ac: Float64Array;
  private readonly finalAlpha: number;
  private readonly spacing: TimestepSpacing;
  private readonly skipPrk: boolean;

  constructor(readonly config: SchedulerConfig) {
    const tables = noiseTables(config);
    this.ac = tables.alphasCumprod;
    this.finalAlpha = finalAlpha(config, tables, false);
    this.spacing = config.timestepSpacing ?? 'leading';
    this.skipPrk = config.skipPrkSteps ?? false;
  }

  /** The spaced timesteps, ascending (PNDMScheduler's _timesteps). */
  private base(): number[] {
    const c = this.config;
    return spacedTimesteps(c.numTrainTimesteps, this.steps, this.spacing, c.stepsOffset).reverse();
  }

  setTimesteps(steps: number): void {
    checkSteps(steps, this.config.numTrainTimesteps);
    if (!this.skipPrk && steps < PNDM_ORDER)
      throw new InputError(
        'bad_steps',
        `PNDM with its Runge-Kutta warm-up (skip_prk_steps false) needs at least ${PNDM_ORDER} steps (got ${steps}).`,
      );
    this.steps = steps;
    this.build(this.base());
  }

  /** Model-call timesteps from ascending base timesteps; resets the solver state. */
  private build(asc: number[]): void {
    if (this.skipPrk) {
      // [:-1] + [-2] + [-1], reversed: the second-largest repeats (the PLMS warm-up).
      const out = asc.length > 1 ? [...asc.slice(0, -1), asc[asc.length - 2], asc[asc.length - 1]] : asc;
      this.timesteps = out.reverse();
      this.prkCalls = 0;
    } else {
      // The 4 largest, each with its half step (t, t + (T // n) // 2), without the last half step,
      // every entry twice but the first and last: 12 calls, reversed; then PLMS on the rest.
      const half = Math.floor(Math.floor(this.config.numTrainTimesteps / this.steps) / 2);
      const pairs = asc.slice(-PNDM_ORDER).flatMap((t) => [t, t + half]);
      const prk = pairs
        .slice(0, -1)
        .flatMap((t) => [t, t])
        .slice(1, -1)
        .reverse();
      this.timesteps = [...prk, ...asc.slice(0, -(PNDM_ORDER - 1)).reverse()];
      this.prkCalls = prk.length;
    }
    this.beginIndex = 0;
    this.counter = 0;
    this.ets.reset();
  }

  /**
   * img2img: rebuild the model-call list from the last floor(steps * strength) base timesteps, so
   * the warm-up runs on the shortened schedule. (diffusers slices the full list instead, which
   * starts PLMS's warm-up without its repeated timestep and skips an interval, and would start a
   * Runge-Kutta warm-up mid-way; the oracle test shows the difference.) The run starts at index 0.
   */
  setStrength(strength: number): number {
    const begin = beginIndexForStrength(this.steps, strength);
    const keep = this.steps - begin;
    if (!this.skipPrk && keep < PNDM_ORDER)
      throw new InputError(
        'bad_strength',
        `PNDM with its Runge-Kutta warm-up needs at least ${PNDM_ORDER} steps of the schedule; strength ${strength} of ${this.steps} steps leaves ${keep}. Raise the strength or the steps.`,
      );
    this.build(this.base().slice(0, keep));
    return 0;
  }

  scaleModelInput(sample: Float32Array, _i: number, out: Float32Array): Float32Array {
    if (out !== sample) out.set(sample);
    return out;
  }

  step(eps: Float32Array, i: number, sample: Float32Array): void {
    if (this.counter < this.prkCalls) this.stepPrk(eps, i, sample);
    else this.stepPlms(eps, i, sample);
    this.counter++;
  }

  /**
   * Runge-Kutta warm-up, four calls per block: k1 at t (stored as a PLMS history entry), k2 and
   * k3 at the half step, k4 at the next step; each call moves the block's start sample, the last
   * with (k1 + 2 k2 + 2 k3 + k4) / 6.
   */
  private stepPrk(eps: Float32Array, i: number, sample: Float32Array): void {
    const n = sample.length;
    const diffToPrev =
      this.counter % 2 ? 0 : Math.floor(Math.floor(this.config.numTrainTimesteps / this.steps) / 2);
    const prevT = this.timesteps[i] - diffToPrev;
    const t = this.timesteps[Math.floor(this.counter / 4) * 4];
    const sum = this.rkSum.get(n);
    const start = this.curSample.get(n);
    let m = eps;
    switch (this.counter % 4) {
      case 0:
        for (let k = 0; k < n; k++) sum[k] = eps[k] / 6;
        this.ets.push(eps);
        start.set(sample);
        break;
      case 1:
      case 2:
        for (let k = 0; k < n; k++) sum[k] += eps[k] / 3;
        break;
      default: {
        m = this.combined.get(n);
        for (let k = 0; k < n; k++) m[k] = sum[k] + eps[k] / 6;
      }
    }
    this.transfer(start, t, prevT, m, sample);
  }

  private stepPlms(eps: Float32Array, i: number, sample: Float32Array): void {
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
    let from = sample;
    if (this.ets.length === 1 && this.counter === 0) {
      m.set(eps);
      this.curSample.get(n).set(sample);
    } else if (this.ets.length === 1 && this.counter === 1) {
      // Second call at the repeated timestep: average, and restart from the saved sample.
      for (let k = 0; k < n; k++) m[k] = (eps[k] + e0[k]) / 2;
      from = this.curSample.get(n);
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
    this.transfer(from, t, prevT, m, sample);
  }

  /** PNDM's transfer (formula 9 of the paper) from `from` at t to prev_t, written into out. */
  private transfer(from: Float32Array, t: number, prevT: number, m: Float32Array, out: Float32Array): void {
    const a = this.ac[t];
    const ap = prevT >= 0 ? this.ac[prevT] : this.finalAlpha;
    const b = 1 - a;
    const bp = 1 - ap;
    const sampleCoeff = Math.sqrt(ap / a);
    const denom = a * Math.sqrt(bp) + Math.sqrt(a * b * ap);
    const c = (ap - a) / denom;
    for (let k = 0; k < out.length; k++) out[k] = sampleCoeff * from[k] - c * m[k];
  }

  addNoise(original: Float32Array, noise: Float32Array, i: number, out: Float32Array): void {
    const a = this.ac[this.timesteps[i]];
    const sa = Math.sqrt(a);
    const sb = Math.sqrt(1 - a);
    for (let k = 0; k < out.length; k++) out[k] = sa * original[k] + sb * noise[k];
  }
}
