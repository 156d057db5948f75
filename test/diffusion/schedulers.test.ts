import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../core/config.ts';
import { SeededNoise } from '../../core/diffusion/noise.ts';
import { noiseTables, SD15_SCHEDULER } from '../../core/diffusion/schedulers/config.ts';
import { DpmMultistepScheduler, DpmSinglestepScheduler } from '../../core/diffusion/schedulers/dpm.ts';
import { EulerScheduler } from '../../core/diffusion/schedulers/euler.ts';
import { createScheduler, SAMPLERS, type Scheduler } from '../../core/diffusion/schedulers/index.ts';
import { LcmScheduler } from '../../core/diffusion/schedulers/lcm.ts';
import { psnr } from './helpers.ts';

/** Known answers computed independently (see /work/shared/reference/README.md). */
const ref = JSON.parse(
  readFileSync(new URL('../fixtures/diffusion/sd15-schedulers.json', import.meta.url), 'utf8'),
);

const cfg = SD15_SCHEDULER;

describe('SD 1.5 noise tables', () => {
  it('match the published alphas_cumprod', () => {
    const { alphasCumprod } = noiseTables(cfg);
    for (const [k, v] of Object.entries(ref.alphas_cumprod as Record<string, number>))
      expect(alphasCumprod[Number(k)]).toBeCloseTo(v, 12);
    expect(noiseTables(cfg).sigmas[0]).toBeCloseTo(ref.sigma_min, 10);
    expect(noiseTables(cfg).sigmas[999]).toBeCloseTo(ref.sigma_max, 9);
  });
});

describe('scheduler timesteps and sigmas', () => {
  it('DDIM 50 steps, leading spacing with offset 1: 981, 961, ..., 1', () => {
    const s = createScheduler('ddim', cfg);
    s.setTimesteps(50);
    expect(s.timesteps).toEqual(ref.ddim_50_leading_timesteps);
  });

  it('PNDM (PLMS, skip_prk_steps) 50 steps repeats 961', () => {
    const s = createScheduler('pndm', cfg);
    s.setTimesteps(50);
    expect(s.timesteps).toEqual(ref.pndm_50_plms_timesteps_skip_prk);
  });

  it('Euler 20 steps: leading timesteps and interpolated sigmas', () => {
    // EulerDiscreteScheduler's own default is linspace; SD 1.5 exports say "leading".
    const s = new EulerScheduler({ ...cfg, timestepSpacing: 'leading' });
    s.setTimesteps(20);
    expect(s.timesteps).toEqual(ref.euler_20_leading_timesteps);
    ref.euler_20_leading_sigmas.forEach((v: number, k: number) => {
      expect(s.sigmas[k]).toBeCloseTo(v, 9);
    });
    expect(s.sigmas[20]).toBe(0);
  });

  it("DPM-Solver++ 2M 20 steps: linspace timesteps 999, 949, ..., 50 (its class's default spacing)", () => {
    const s = new DpmMultistepScheduler(cfg);
    s.setTimesteps(20);
    expect(s.timesteps).toEqual(ref.linspace_20_timesteps);
  });

  it('DPM-Solver++ 2M Karras 20 steps: sigmas 14.61 → 0.0292, timesteps from log-sigma interpolation', () => {
    const s = new DpmMultistepScheduler(cfg, true);
    s.setTimesteps(20);
    ref.karras_20_sigmas_rho7.forEach((v: number, k: number) => {
      expect(s.sigmas[k]).toBeCloseTo(v, 9);
    });
    // diffusers' multistep scheduler rounds the interpolated timesteps.
    expect(s.timesteps).toEqual(
      ref.karras_20_timesteps_from_log_sigma_interp.map((t: number) => Math.round(t)),
    );
    expect(s.sigmas[20]).toBe(0);
  });

  it('DPM single-step order list alternates 1, 2 and ends first order', () => {
    const s = new DpmSinglestepScheduler(cfg);
    s.setTimesteps(6);
    expect(s.orderList).toEqual([1, 2, 1, 2, 1, 1]);
    s.setTimesteps(5);
    expect(s.orderList).toEqual([1, 2, 1, 2, 1]);
  });

  it('LCM 4 steps picks 999, 759, 499, 259 from the 50-step distillation schedule', () => {
    const s = new LcmScheduler(cfg);
    s.setTimesteps(4);
    expect(s.timesteps).toEqual([999, 759, 499, 259]);
  });

  it('PNDM img2img rebuilds its warm-up on the shortened schedule', () => {
    const s = createScheduler('pndm', cfg);
    s.setTimesteps(20);
    expect(s.setStrength(0.2)).toBe(0);
    expect(s.timesteps).toEqual([151, 101, 101, 51, 1]);
  });

  it('img2img strength runs the last floor(steps * strength) steps', () => {
    const s = createScheduler('ddim', cfg);
    s.setTimesteps(50);
    expect(s.setStrength(0.3)).toBe(35);
    expect(s.timesteps[35]).toBe(281);
    expect(s.setStrength(1)).toBe(0);
    expect(() => s.setStrength(0)).toThrow(/Strength/);
    expect(() => s.setStrength(1.5)).toThrow(/Strength/);
  });

  it('one table gives the sampler names, the FACECHAIN_SD_SAMPLER setting and the factories', () => {
    expect(SAMPLERS).toEqual([
      'ddim',
      'pndm',
      'euler',
      'euler-a',
      'dpm++2m',
      'dpm++2m-karras',
      'dpm-single',
      'lcm',
    ]);
    for (const name of SAMPLERS) {
      expect(configSchema.safeParse({ FACECHAIN_SD_SAMPLER: name }).success, name).toBe(true);
      expect(createScheduler(name, cfg).name).toBe(name);
    }
    expect(configSchema.safeParse({ FACECHAIN_SD_SAMPLER: 'k_lms' }).success).toBe(false);
    expect(() => createScheduler('toString', cfg)).toThrow(/Unknown sampler "toString"/);
  });

  it('refuses step counts out of range with a clear error', () => {
    expect(() => createScheduler('ddim', cfg).setTimesteps(0)).toThrow(/Steps must be/);
    expect(() => createScheduler('nope', cfg)).toThrow(/Unknown sampler "nope"/);
  });
});

/**
 * An oracle denoiser in plain arithmetic (the ONNX version is in pipeline tests): it returns the
 * exact epsilon of a known x0 for the noise level the timestep stands for, where fractional
 * timesteps map to sigma by interpolation in log-sigma (the inverse of how they were made).
 */
function oracleEps(x0: Float32Array, sampleIn: Float32Array, t: number, out: Float32Array): void {
  const { logSigmas } = noiseTables(cfg);
  const lo = Math.floor(t);
  const hi = Math.min(lo + 1, 999);
  const w = t - lo;
  const sigma = Math.exp((1 - w) * logSigmas[lo] + w * logSigmas[hi]);
  const ab = 1 / (1 + sigma * sigma);
  const sa = Math.sqrt(ab);
  const sb = Math.sqrt(1 - ab);
  for (let k = 0; k < out.length; k++) out[k] = (sampleIn[k] - sa * x0[k]) / sb;
}

function target(n: number): Float32Array {
  const x0 = new Float32Array(n);
  for (let k = 0; k < n; k++) x0[k] = 2 * Math.sin(k * 0.37) + Math.cos(k * 0.11);
  return x0;
}

function runOracle(s: Scheduler, steps: number, x0: Float32Array, seed: number, strength = 1): Float32Array {
  const n = x0.length;
  s.setTimesteps(steps);
  const noise = new SeededNoise(seed);
  const lat = new Float32Array(n);
  noise.fill(lat);
  let begin = 0;
  if (strength < 1) {
    begin = s.setStrength(strength);
    const init = new Float32Array(n).map((_, k) => Math.cos(k)); // an unrelated "init image" latent
    s.addNoise(init, lat, begin, lat);
  } else for (let k = 0; k < n; k++) lat[k] *= s.initNoiseSigma;
  const inp = new Float32Array(n);
  const eps = new Float32Array(n);
  for (let i = begin; i < s.timesteps.length; i++) {
    s.scaleModelInput(lat, i, inp);
    oracleEps(x0, inp, s.timesteps[i], eps);
    s.step(eps, i, lat, noise);
  }
  return lat;
}

describe('oracle denoiser: every sampler returns the known target', () => {
  it('DDIM and PNDM with set_alpha_to_one reach the target exactly at any strength', () => {
    const x0 = target(256);
    const exact = { ...cfg, setAlphaToOne: true };
    for (const strength of [0.05, 0.1, 0.3, 1]) {
      const p = psnr(runOracle(createScheduler('ddim', exact), 20, x0, 5, strength), x0);
      expect(p, `ddim ${strength}`).toBeGreaterThan(100);
    }
    for (const strength of [0.05, 0.1, 0.2, 0.3, 0.5, 1]) {
      const p = psnr(runOracle(createScheduler('pndm', exact), 20, x0, 5, strength), x0);
      expect(p, `pndm ${strength}`).toBeGreaterThan(100);
    }
    // PNDM with its Runge-Kutta warm-up (skip_prk_steps false) needs 4 steps of the schedule.
    for (const strength of [0.2, 0.3, 0.5, 1]) {
      const p = psnr(
        runOracle(createScheduler('pndm', { ...exact, skipPrkSteps: false }), 20, x0, 5, strength),
        x0,
      );
      expect(p, `pndm prk ${strength}`).toBeGreaterThan(100);
    }
  });

  const x0 = target(4 * 8 * 8);
  const floors: Record<string, number> = {
    ddim: 40,
    pndm: 35,
    euler: 40,
    'euler-a': 40,
    'dpm++2m': 40,
    'dpm++2m-karras': 40,
    'dpm-single': 40,
    lcm: 40,
  };
  for (const name of SAMPLERS) {
    it(`${name}: PSNR at 1, 4, 20, 50 steps and img2img strengths`, () => {
      const report: string[] = [];
      // DDIM and PNDM use "leading" spacing: with 1 step that is timestep 1 alone (diffusers does the same), so they start at 2.
      const counts =
        name === 'lcm' ? [1, 2, 4, 8] : name === 'ddim' || name === 'pndm' ? [2, 4, 20, 50] : [1, 4, 20, 50];
      for (const steps of counts) {
        const p = psnr(runOracle(createScheduler(name, cfg), steps, x0, 7), x0);
        report.push(`${steps} steps ${p.toFixed(1)} dB`);
        expect(p, `${name} ${steps} steps`).toBeGreaterThanOrEqual(floors[name]);
      }
      for (const strength of [0.05, 0.1, 0.3, 0.5, 0.75]) {
        const p = psnr(runOracle(createScheduler(name, cfg), 20, x0, 3, strength), x0);
        report.push(`img2img ${strength}: ${p.toFixed(1)} dB`);
        // DDIM and PNDM end at alpha_bar[0] (SD 1.5's set_alpha_to_one = false), i.e. at sigma 0.029,
        // so whatever of the init latent the first step could not remove stays scaled by that
        // sigma: at strengths below 0.5 (one or two steps from a nearly clean timestep) the
        // result keeps part of the init image, as in diffusers. Checked exactly below with
        // set_alpha_to_one = true.
        const lowStrengthResidual = (name === 'ddim' || name === 'pndm') && strength < 0.5;
        if (!lowStrengthResidual)
          expect(p, `${name} strength ${strength}`).toBeGreaterThanOrEqual(floors[name]);
      }
      console.info(`[oracle] ${name}: ${report.join(', ')}`);
    });
  }
});

/**
 * The oracle above cannot see higher-order terms: its x0 prediction is the same at every step, so
 * multistep corrections vanish. Here the data are Gaussian, x0 ~ N(0, s^2), whose ideal denoiser
 * is known, eps(x_vp, t) = sqrt(1 - ab) x_vp / (ab s^2 + 1 - ab), and whose probability-flow ODE
 * has the exact solution x_ve(sigma) = x_ve(sigma0) sqrt((s^2 + sigma^2) / (s^2 + sigma0^2)).
 * Doubling the step count must divide the error by about 2 for first-order samplers (DDIM,
 * Euler) and about 4 for second-order ones (DPM-Solver++ 2M, single-step); PLMS (PNDM) is
 * higher order. Errors are taken at the middle of the schedule (after step N/2, a completed
 * second-order step for the single-step solver), where the steps shrink with N.
 */
describe('convergence order on Gaussian data (exact ODE solution)', () => {
  const s2 = 0.25;
  const { logSigmas } = noiseTables(cfg);
  const sigmaOf = (t: number): number => {
    const lo = Math.floor(t);
    const hi = Math.min(lo + 1, 999);
    return Math.exp((1 - (t - lo)) * logSigmas[lo] + (t - lo) * logSigmas[hi]);
  };
  function midError(name: string, steps: number, config = cfg): number {
    const s = createScheduler(name, config);
    s.setTimesteps(steps);
    const n = 64;
    const x = new Float32Array(n);
    new SeededNoise(3).fill(x);
    const start = Float64Array.from(x, (v) => v * s.initNoiseSigma);
    x.set(start);
    const inp = new Float32Array(n);
    const eps = new Float32Array(n);
    const stop = s.timesteps.length - steps / 2; // run steps 0 .. stop-1
    for (let i = 0; i < stop; i++) {
      s.scaleModelInput(x, i, inp);
      const sig = sigmaOf(s.timesteps[i]);
      const ab = 1 / (1 + sig * sig);
      for (let k = 0; k < n; k++) eps[k] = (Math.sqrt(1 - ab) * inp[k]) / (ab * s2 + 1 - ab);
      s.step(eps, i, x);
    }
    const sigmas = (s as unknown as { sigmas?: number[] }).sigmas;
    const sig0 = sigmas ? sigmas[0] : sigmaOf(s.timesteps[0]);
    const sigEnd = sigmas ? sigmas[stop] : sigmaOf(s.timesteps[stop]);
    const ve = name.startsWith('euler'); // Euler's sample is x_ve; the others are variance preserving
    let err = 0;
    for (let k = 0; k < n; k++) {
      const x0ve = ve ? start[k] : start[k] * Math.sqrt(1 + sig0 * sig0);
      const exact = x0ve * Math.sqrt((s2 + sigEnd * sigEnd) / (s2 + sig0 * sig0));
      const got = ve ? x[k] : x[k] * Math.sqrt(1 + sigEnd * sigEnd);
      err = Math.max(err, Math.abs(got - exact));
    }
    return err;
  }
  const ratios = (name: string, config = cfg): number[] => {
    const e = [24, 48, 96].map((n) => midError(name, n, config));
    return [e[0] / e[1], e[1] / e[2]];
  };

  it('DDIM and Euler are first order', () => {
    for (const name of ['ddim', 'euler'])
      for (const r of ratios(name)) {
        expect(r, name).toBeGreaterThan(1.8);
        expect(r, name).toBeLessThan(2.3);
      }
  });

  it('DPM-Solver++ 2M and single-step DPM-Solver++ are second order', () => {
    for (const name of ['dpm++2m', 'dpm-single'])
      for (const r of ratios(name)) expect(r, name).toBeGreaterThan(3.5);
  });

  it('PNDM (PLMS, and with its Runge-Kutta warm-up) is of higher order than Euler', () => {
    for (const r of ratios('pndm')) expect(r).toBeGreaterThan(3);
    for (const r of ratios('pndm', { ...cfg, skipPrkSteps: false })) expect(r).toBeGreaterThan(3);
  });
});

describe('ancestral sampling keeps the data distribution (Gaussian data)', () => {
  const s2 = 0.25;
  const { logSigmas } = noiseTables(cfg);
  function run(steps: number): { variance: number; corr: number } {
    // Leading spacing: integer timesteps, so the ideal denoiser below reads its sigma exactly.
    const s = createScheduler('euler-a', { ...cfg, timestepSpacing: 'leading' });
    s.setTimesteps(steps);
    const n = 20_000;
    const x = new Float32Array(n);
    const noise = new SeededNoise(21);
    noise.fill(x);
    const start = Float32Array.from(x);
    for (let k = 0; k < n; k++) x[k] *= s.initNoiseSigma;
    const inp = new Float32Array(n);
    const eps = new Float32Array(n);
    for (let i = 0; i < s.timesteps.length; i++) {
      s.scaleModelInput(x, i, inp);
      const sig = Math.exp(logSigmas[Math.round(s.timesteps[i])]);
      const ab = 1 / (1 + sig * sig);
      for (let k = 0; k < n; k++) eps[k] = (Math.sqrt(1 - ab) * inp[k]) / (ab * s2 + 1 - ab);
      s.step(eps, i, x, noise);
    }
    let v = 0;
    let c = 0;
    let vs = 0;
    for (let k = 0; k < n; k++) {
      v += x[k] * x[k];
      c += x[k] * start[k];
      vs += start[k] * start[k];
    }
    return { variance: v / n, corr: c / Math.sqrt(v * vs) };
  }

  it('euler-a converges to the data variance and forgets its starting noise', () => {
    // Euler-ancestral's variance bias is first order in the step size: it must shrink with more
    // steps and end near the data variance s^2; a deterministic sampler would keep correlation 1.
    const a = run(100);
    const b = run(400);
    const errA = Math.abs(a.variance / s2 - 1);
    const errB = Math.abs(b.variance / s2 - 1);
    expect(errB).toBeLessThan(0.04);
    expect(errB).toBeLessThan(errA / 2.5);
    expect(Math.abs(b.corr)).toBeLessThan(0.5);
  });
});
