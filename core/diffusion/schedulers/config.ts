/**
 * Scheduler configuration as diffusers writes it (`scheduler/scheduler_config.json`, snake_case),
 * and the noise tables every scheduler shares: betas, cumulative alphas (alpha_bar) and the
 * matching Karras-style sigmas sqrt((1 - alpha_bar) / alpha_bar).
 *
 * Keys whose default differs between diffusers' scheduler classes stay undefined when the file
 * lacks them, and each scheduler applies its own class's default: diffusers does the same when
 * it switches schedulers (from_config drops the keys the loaded class only defaulted), while a
 * config that diffusers saved carries every key of the class it was saved from (an SD 1.5 export
 * says "timestep_spacing": "leading", PNDM's default, and every sampler then follows that).
 */
import { ModelError } from '../../../base/errors.ts';
import type { TimestepSpacing } from './spacing.ts';

export interface SchedulerConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: 'scaled_linear' | 'linear';
  stepsOffset: number;
  predictionType: 'epsilon';
  /** DDIM, PNDM, Euler: leading / trailing / linspace (DPM-Solver++ 2M has its own rules for each). */
  timestepSpacing?: TimestepSpacing;
  /** DDIM, PNDM: the last step lands on alpha_bar = 1 instead of alpha_bar[0]. */
  setAlphaToOne?: boolean;
  /** PNDM: PLMS only (true) or a Runge-Kutta warm-up first (false, diffusers' default). */
  skipPrkSteps?: boolean;
  /** Euler, DPM-Solver: the sigma after the last step, 0 or sigma_min (alpha_bar[0]'s). */
  finalSigmasType?: 'zero' | 'sigma_min';
  /** DPM-Solver: first-order final step(s). */
  lowerOrderFinal?: boolean;
  /** DPM-Solver++ 2M: always end with a first-order (Euler) step. */
  eulerAtFinal?: boolean;
  /** LCM: the distillation schedule's step count and timestep scaling. */
  originalInferenceSteps: number;
  timestepScaling: number;
}

/** Stable Diffusion 1.5's scheduler configuration (its published file has no timestep_spacing). */
export const SD15_SCHEDULER: SchedulerConfig = {
  numTrainTimesteps: 1000,
  betaStart: 0.00085,
  betaEnd: 0.012,
  betaSchedule: 'scaled_linear',
  stepsOffset: 1,
  predictionType: 'epsilon',
  setAlphaToOne: false,
  skipPrkSteps: true,
  originalInferenceSteps: 50,
  timestepScaling: 10,
};

/** Read diffusers' scheduler_config.json; unknown keys are ignored, unsupported values refused. */
export function parseSchedulerConfig(
  json: Record<string, unknown>,
  where = 'scheduler_config.json',
): SchedulerConfig {
  const num = (k: string, d: number): number => {
    const v = json[k];
    if (v === undefined || v === null) return d;
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new ModelError('bad_scheduler_config', `${where}: "${k}" must be a number.`);
    return v;
  };
  const schedule = (json.beta_schedule as string | undefined) ?? 'linear';
  if (schedule !== 'scaled_linear' && schedule !== 'linear')
    throw new ModelError(
      'bad_scheduler_config',
      `${where}: beta_schedule "${schedule}" is not supported (scaled_linear or linear).`,
    );
  const prediction = (json.prediction_type as string | undefined) ?? 'epsilon';
  if (prediction !== 'epsilon')
    throw new ModelError(
      'bad_scheduler_config',
      `${where}: prediction_type "${prediction}" is not supported; Stable Diffusion 1.5 models predict epsilon.`,
    );
  if (json.trained_betas !== undefined && json.trained_betas !== null)
    throw new ModelError('bad_scheduler_config', `${where}: trained_betas are not supported.`);
  const bool = (k: string): boolean | undefined => {
    const v = json[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean')
      throw new ModelError('bad_scheduler_config', `${where}: "${k}" must be true or false.`);
    return v;
  };
  const oneOf = <T extends string>(k: string, allowed: readonly T[]): T | undefined => {
    const v = json[k];
    if (v === undefined || v === null) return undefined;
    if (!allowed.includes(v as T))
      throw new ModelError(
        'bad_scheduler_config',
        `${where}: ${k} "${String(v)}" is not supported (${allowed.join(', ')}).`,
      );
    return v as T;
  };
  return {
    numTrainTimesteps: num('num_train_timesteps', 1000),
    betaStart: num('beta_start', 0.0001),
    betaEnd: num('beta_end', 0.02),
    betaSchedule: schedule,
    stepsOffset: num('steps_offset', 0),
    predictionType: 'epsilon',
    timestepSpacing: oneOf('timestep_spacing', ['leading', 'linspace', 'trailing'] as const),
    setAlphaToOne: bool('set_alpha_to_one'),
    skipPrkSteps: bool('skip_prk_steps'),
    finalSigmasType: oneOf('final_sigmas_type', ['zero', 'sigma_min'] as const),
    lowerOrderFinal: bool('lower_order_final'),
    eulerAtFinal: bool('euler_at_final'),
    originalInferenceSteps: num('original_inference_steps', 50),
    timestepScaling: num('timestep_scaling', 10),
  };
}

export interface NoiseTables {
  /** alpha_bar[t] for t = 0 .. T-1 (float64, as diffusers computes them before casting). */
  alphasCumprod: Float64Array;
  /** sigma[t] = sqrt((1 - alpha_bar) / alpha_bar). */
  sigmas: Float64Array;
  logSigmas: Float64Array;
}

const tableCache = new Map<string, NoiseTables>();

export function noiseTables(cfg: SchedulerConfig): NoiseTables {
  const key = `${cfg.numTrainTimesteps}|${cfg.betaStart}|${cfg.betaEnd}|${cfg.betaSchedule}`;
  const hit = tableCache.get(key);
  if (hit) return hit;
  const T = cfg.numTrainTimesteps;
  const ac = new Float64Array(T);
  const sigmas = new Float64Array(T);
  const logSigmas = new Float64Array(T);
  let prod = 1;
  for (let i = 0; i < T; i++) {
    const f = T === 1 ? 0 : i / (T - 1);
    const beta =
      cfg.betaSchedule === 'scaled_linear'
        ? (Math.sqrt(cfg.betaStart) + f * (Math.sqrt(cfg.betaEnd) - Math.sqrt(cfg.betaStart))) ** 2
        : cfg.betaStart + f * (cfg.betaEnd - cfg.betaStart);
    prod *= 1 - beta;
    ac[i] = prod;
    sigmas[i] = Math.sqrt((1 - prod) / prod);
    logSigmas[i] = Math.log(sigmas[i]);
  }
  const t = { alphasCumprod: ac, sigmas, logSigmas };
  tableCache.set(key, t);
  return t;
}

/** The sigma after the last step: 0, or alpha_bar[0]'s with final_sigmas_type "sigma_min". */
export function finalSigma(cfg: SchedulerConfig, tables: NoiseTables): number {
  return cfg.finalSigmasType === 'sigma_min' ? tables.sigmas[0] : 0;
}

/** alpha_bar "before" timestep 0, where DDIM and PNDM land: 1 with set_alpha_to_one, else alpha_bar[0]. */
export function finalAlpha(cfg: SchedulerConfig, tables: NoiseTables, classDefault: boolean): number {
  return (cfg.setAlphaToOne ?? classDefault) ? 1 : tables.alphasCumprod[0];
}

/** sigma at a (possibly fractional) timestep by linear interpolation, as np.interp does. */
export function sigmaAt(tables: NoiseTables, t: number): number {
  const s = tables.sigmas;
  if (t <= 0) return s[0];
  if (t >= s.length - 1) return s[s.length - 1];
  const lo = Math.floor(t);
  const w = t - lo;
  return s[lo] * (1 - w) + s[lo + 1] * w;
}

/** The (fractional) timestep of a sigma by interpolation in log-sigma (diffusers' _sigma_to_t). */
export function sigmaToT(tables: NoiseTables, sigma: number): number {
  const ls = tables.logSigmas;
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  // log sigmas increase with t; find the last index whose log sigma is <= the target.
  let low = 0;
  for (let i = 0; i < ls.length; i++) if (logSigma - ls[i] >= 0) low = i;
  low = Math.min(low, ls.length - 2);
  const high = low + 1;
  let w = (ls[low] - logSigma) / (ls[low] - ls[high]);
  w = Math.min(1, Math.max(0, w));
  return (1 - w) * low + w * high;
}

/** Karras et al. (2022) sigmas with rho = 7 between sigma_max and sigma_min. */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number, rho = 7): number[] {
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const ramp = n === 1 ? 0 : i / (n - 1);
    out.push((maxInv + ramp * (minInv - maxInv)) ** rho);
  }
  return out;
}
