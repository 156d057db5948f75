/**
 * DPM-Solver++ (Lu et al. 2022) in data (x0) prediction, as diffusers' DPMSolverMultistepScheduler
 * ("DPM++ 2M", optionally with Karras sigmas) and DPMSolverSinglestepScheduler (FaceChain's
 * sampler): solver order 2, midpoint solver type. Samples are variance-preserving
 * (x = alpha * x0 + sigma_vp * eps); the UNet input is unscaled.
 *
 * Timesteps: the multistep solver follows timestep_spacing with its own rules (spacing.ts,
 * default "linspace"); with Karras sigmas it spans the whole training range whatever the
 * spacing; the single-step solver always uses linspace over n + 1 points and has no
 * steps_offset. The sigma after the last step is 0 (final_sigmas_type "zero", the default) or
 * sigma_min; which steps run first order follows diffusers (see each class).
 */
import { beginIndexForStrength, checkSteps, History, type Scheduler, Scratch } from './base.ts';
import {
  finalSigma,
  karrasSigmas,
  type NoiseTables,
  noiseTables,
  type SchedulerConfig,
  sigmaAt,
  sigmaToT,
} from './config.ts';
import { dpmTimesteps, linspace, roundHalfEven } from './spacing.ts';

/** alpha_t, sigma_t (VP) and lambda_t = log(alpha_t / sigma_t) for a k-diffusion sigma. */
function vp(sigma: number): { alpha: number; sigma: number; lambda: number } {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  const s = sigma * alpha;
  return { alpha, sigma: s, lambda: Math.log(alpha) - Math.log(s) };
}

abstract class DpmBase implements Scheduler {
  abstract readonly name: string;
  readonly initNoiseSigma = 1;
  readonly stochastic = false;
  timesteps: number[] = [];
  /** sigma per step index, plus a final 0. */
  sigmas: number[] = [];
  beginIndex = 0;
  protected steps = 0;
  protected readonly tables: NoiseTables;
  protected readonly outputs = new History(2);

  constructor(
    readonly config: SchedulerConfig,
    protected readonly karras = false,
  ) {
    this.tables = noiseTables(config);
  }

  setTimesteps(steps: number): void {
    checkSteps(steps, this.config.numTrainTimesteps);
    this.steps = steps;
    if (this.karras) {
      const s = this.tables.sigmas;
      this.sigmas = karrasSigmas(s[0], s[s.length - 1], steps);
      this.timesteps = this.sigmas.map((x) => roundHalfEven(sigmaToT(this.tables, x)));
    } else {
      this.timesteps = this.spacedTimesteps(steps);
      this.sigmas = this.timesteps.map((t) => sigmaAt(this.tables, t));
    }
    this.sigmas.push(finalSigma(this.config, this.tables));
    this.beginIndex = 0;
    this.outputs.reset();
    this.reset();
  }

  protected abstract spacedTimesteps(steps: number): number[];

  protected reset(): void {}

  setStrength(strength: number): number {
    this.beginIndex = beginIndexForStrength(this.steps, strength);
    return this.beginIndex;
  }

  scaleModelInput(sample: Float32Array, _i: number, out: Float32Array): Float32Array {
    if (out !== sample) out.set(sample);
    return out;
  }

  /** Epsilon → x0 prediction at step i, stored in the history. */
  protected pushX0(eps: Float32Array, i: number, sample: Float32Array, scratch: Float32Array): void {
    const { alpha, sigma } = vp(this.sigmas[i]);
    for (let k = 0; k < sample.length; k++) scratch[k] = (sample[k] - sigma * eps[k]) / alpha;
    this.outputs.push(scratch);
  }

  /** First-order update from sigma s to sigma t with x0 prediction m, written into out. */
  protected firstOrder(from: Float32Array, sS: number, sT: number, m: Float32Array, out: Float32Array): void {
    const s = vp(sS);
    const t = vp(sT);
    const h = t.lambda - s.lambda;
    const ratio = t.sigma / s.sigma;
    const c = t.alpha * (Math.exp(-h) - 1);
    for (let k = 0; k < out.length; k++) out[k] = ratio * from[k] - c * m[k];
  }

  /** Second-order (midpoint) update from s1 through s0 to t: m0 at s0 is newest, m1 at s1. */
  protected secondOrder(
    from: Float32Array,
    sS1: number,
    sS0: number,
    sT: number,
    m0: Float32Array,
    m1: Float32Array,
    out: Float32Array,
    fromSigma: number,
  ): void {
    const t = vp(sT);
    const s0 = vp(sS0);
    const s1 = vp(sS1);
    const from_ = vp(fromSigma);
    const h = t.lambda - from_.lambda;
    const h0 = s0.lambda - s1.lambda;
    const r0 = h0 / h;
    const ratio = t.sigma / from_.sigma;
    const c = t.alpha * (Math.exp(-h) - 1);
    // Multistep: D0 = m0, D1 = (m0 - m1) / r0 (h measured from s0).
    // Single-step: D0 = m1, D1 = (m0 - m1) / r0 (h measured from s1). Callers pick via fromSigma.
    const singleStep = fromSigma === sS1;
    for (let k = 0; k < out.length; k++) {
      const d0 = singleStep ? m1[k] : m0[k];
      const d1 = (m0[k] - m1[k]) / r0;
      out[k] = ratio * from[k] - c * d0 - 0.5 * c * d1;
    }
  }

  abstract step(eps: Float32Array, i: number, sample: Float32Array): void;

  addNoise(original: Float32Array, noise: Float32Array, i: number, out: Float32Array): void {
    const { alpha, sigma } = vp(this.sigmas[i]);
    for (let k = 0; k < out.length; k++) out[k] = alpha * original[k] + sigma * noise[k];
  }
}

/**
 * DPM-Solver++ 2M: one model call per step, second order from the previous step's prediction.
 * The first step is first order, and so is the last when the final sigma is 0, when
 * lower_order_final (default true) holds and the run has fewer than 15 steps, or with
 * euler_at_final.
 */
export class DpmMultistepScheduler extends DpmBase {
  readonly name: string;
  private lowerOrderNums = 0;
  private readonly x0 = new Scratch();

  constructor(config: SchedulerConfig, karras = false) {
    super(config, karras);
    this.name = karras ? 'dpm++2m-karras' : 'dpm++2m';
  }

  protected spacedTimesteps(steps: number): number[] {
    const c = this.config;
    return dpmTimesteps(c.numTrainTimesteps, steps, c.timestepSpacing ?? 'linspace', c.stepsOffset);
  }

  protected override reset(): void {
    this.lowerOrderNums = 0;
  }

  /** Whether the last step is first order (diffusers' lower_order_final condition). */
  get firstOrderFinal(): boolean {
    const c = this.config;
    return (
      c.eulerAtFinal === true ||
      ((c.lowerOrderFinal ?? true) && this.timesteps.length < 15) ||
      (c.finalSigmasType ?? 'zero') === 'zero'
    );
  }

  step(eps: Float32Array, i: number, sample: Float32Array): void {
    this.pushX0(eps, i, sample, this.x0.get(sample.length));
    const last = i === this.timesteps.length - 1 && this.firstOrderFinal;
    if (this.lowerOrderNums < 1 || last || this.outputs.length < 2) {
      this.firstOrder(sample, this.sigmas[i], this.sigmas[i + 1], this.outputs.get(0)!, sample);
    } else {
      const s0 = this.sigmas[i];
      this.secondOrder(
        sample,
        this.sigmas[i - 1],
        s0,
        this.sigmas[i + 1],
        this.outputs.get(0)!,
        this.outputs.get(1)!,
        sample,
        s0,
      );
    }
    if (this.lowerOrderNums < 2) this.lowerOrderNums++;
  }
}

/**
 * Single-step DPM-Solver++ (order 2): steps alternate first order (to an intermediate point) and
 * second order (from the block start, using both predictions). diffusers' order list: with
 * lower_order_final (default false, but forced on for an odd step count or a final sigma of 0)
 * the run ends [..., 1, 1] (even) or [..., 1] (odd), else [..., 1, 2]; a final sigma of 0 always
 * makes the last step first order.
 */
export class DpmSinglestepScheduler extends DpmBase {
  readonly name = 'dpm-single';
  private orders: number[] = [];
  private readonly blockStart = new Scratch();
  private readonly x0 = new Scratch();

  protected spacedTimesteps(steps: number): number[] {
    const T = this.config.numTrainTimesteps;
    return linspace(0, T - 1, steps + 1)
      .map(roundHalfEven)
      .reverse()
      .slice(0, steps);
  }

  protected override reset(): void {
    const n = this.steps;
    const zero = (this.config.finalSigmasType ?? 'zero') === 'zero';
    const lower = (this.config.lowerOrderFinal ?? false) || n % 2 !== 0 || zero;
    this.orders = [];
    for (let k = 0; k < Math.floor(n / 2); k++) this.orders.push(1, 2);
    if (n % 2) this.orders.push(1);
    else if (lower) this.orders[n - 1] = 1;
    if (zero) this.orders[n - 1] = 1;
  }

  /** The solver order used at each step index (for tests and documentation). */
  get orderList(): readonly number[] {
    return this.orders;
  }

  step(eps: Float32Array, i: number, sample: Float32Array): void {
    this.pushX0(eps, i, sample, this.x0.get(sample.length));
    let order = this.orders[i];
    // img2img may begin on a second-order step with no earlier prediction: fall back to first order.
    if (i === this.beginIndex || this.outputs.length < order) order = 1;
    const start = this.blockStart.get(sample.length);
    if (order === 1) {
      start.set(sample);
      this.firstOrder(start, this.sigmas[i], this.sigmas[i + 1], this.outputs.get(0)!, sample);
    } else {
      const s1 = this.sigmas[i - 1];
      this.secondOrder(
        start,
        s1,
        this.sigmas[i],
        this.sigmas[i + 1],
        this.outputs.get(0)!,
        this.outputs.get(1)!,
        sample,
        s1,
      );
    }
  }
}
