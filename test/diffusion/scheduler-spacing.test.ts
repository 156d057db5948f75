/**
 * Timestep spacing, steps offset, per-class defaults and final-sigma handling of every sampler,
 * against numbers derived from diffusers' scheduler code (set_timesteps and step of DDIMScheduler,
 * PNDMScheduler, EulerDiscreteScheduler, EulerAncestralDiscreteScheduler,
 * DPMSolverMultistepScheduler, DPMSolverSinglestepScheduler, LCMScheduler) with numpy, by
 * test/fixtures/diffusion/derive_timesteps.py and derive_trajectories.py (run by hand; diffusers
 * itself needs torch, which these machines do not have). All for SD 1.5's betas, steps_offset 1.
 */
import { describe, expect, it } from 'vitest';
import { noiseTables, parseSchedulerConfig, SD15_SCHEDULER } from '../../core/diffusion/schedulers/config.ts';
import { DpmMultistepScheduler, DpmSinglestepScheduler } from '../../core/diffusion/schedulers/dpm.ts';
import { EulerScheduler } from '../../core/diffusion/schedulers/euler.ts';
import { createScheduler, type SchedulerConfig } from '../../core/diffusion/schedulers/index.ts';
import { PndmScheduler } from '../../core/diffusion/schedulers/pndm.ts';

type Spacing = 'leading' | 'trailing' | 'linspace';
interface PerSpacing {
  ddim: number[];
  pndm: number[];
  pndmPrk: number[];
  euler: number[];
  eulerInitSigma: number;
  dpm: number[];
}

/** Expected model-call timesteps, largest first (derive_timesteps.py). */
const EXPECTED: Record<12 | 25, Record<Spacing, PerSpacing> & { dpmSingle: number[]; lcm: number[] }> = {
  12: {
    leading: {
      ddim: [914, 831, 748, 665, 582, 499, 416, 333, 250, 167, 84, 1],
      pndm: [914, 831, 831, 748, 665, 582, 499, 416, 333, 250, 167, 84, 1],
      pndmPrk: [
        914, 872, 872, 831, 831, 789, 789, 748, 748, 706, 706, 665, 665, 582, 499, 416, 333, 250, 167, 84, 1,
      ],
      euler: [914, 831, 748, 665, 582, 499, 416, 333, 250, 167, 84, 1],
      eulerInitSigma: 9.047173254069406,
      dpm: [913, 837, 761, 685, 609, 533, 457, 381, 305, 229, 153, 77],
    },
    trailing: {
      ddim: [999, 916, 832, 749, 666, 582, 499, 416, 332, 249, 166, 82],
      pndm: [999, 916, 916, 832, 749, 666, 582, 499, 416, 332, 249, 166, 82],
      pndmPrk: [
        999, 957, 957, 916, 916, 873, 873, 832, 832, 790, 790, 749, 749, 666, 582, 499, 416, 332, 249, 166,
        82,
      ],
      euler: [999, 916, 832, 749, 666, 582, 499, 416, 332, 249, 166, 82],
      eulerInitSigma: 14.614641229333639,
      dpm: [999, 916, 832, 749, 666, 582, 499, 416, 332, 249, 166, 82],
    },
    linspace: {
      ddim: [999, 908, 817, 727, 636, 545, 454, 363, 272, 182, 91, 0],
      pndm: [999, 908, 908, 817, 727, 636, 545, 454, 363, 272, 182, 91, 0],
      pndmPrk: [
        999, 949, 949, 908, 908, 858, 858, 817, 817, 768, 768, 727, 727, 636, 545, 454, 363, 272, 182, 91, 0,
      ],
      euler: [
        999, 908.1818237304688, 817.3636474609375, 726.5454711914062, 635.727294921875, 544.9091186523438,
        454.0909118652344, 363.2727355957031, 272.4545593261719, 181.63636779785156, 90.81818389892578, 0,
      ],
      eulerInitSigma: 14.614641229333639,
      dpm: [999, 916, 832, 749, 666, 583, 500, 416, 333, 250, 166, 83],
    },
    dpmSingle: [999, 916, 832, 749, 666, 583, 500, 416, 333, 250, 166, 83],
    lcm: [999, 919, 839, 759, 679, 599, 499, 419, 339, 259, 179, 99],
  },
  25: {
    leading: {
      ddim: [
        961, 921, 881, 841, 801, 761, 721, 681, 641, 601, 561, 521, 481, 441, 401, 361, 321, 281, 241, 201,
        161, 121, 81, 41, 1,
      ],
      pndm: [
        961, 921, 921, 881, 841, 801, 761, 721, 681, 641, 601, 561, 521, 481, 441, 401, 361, 321, 281, 241,
        201, 161, 121, 81, 41, 1,
      ],
      pndmPrk: [
        961, 941, 941, 921, 921, 901, 901, 881, 881, 861, 861, 841, 841, 801, 761, 721, 681, 641, 601, 561,
        521, 481, 441, 401, 361, 321, 281, 241, 201, 161, 121, 81, 41, 1,
      ],
      euler: [
        961, 921, 881, 841, 801, 761, 721, 681, 641, 601, 561, 521, 481, 441, 401, 361, 321, 281, 241, 201,
        161, 121, 81, 41, 1,
      ],
      eulerInitSigma: 11.718790745784938,
      dpm: [
        951, 913, 875, 837, 799, 761, 723, 685, 647, 609, 571, 533, 495, 457, 419, 381, 343, 305, 267, 229,
        191, 153, 115, 77, 39,
      ],
    },
    trailing: {
      ddim: [
        999, 959, 919, 879, 839, 799, 759, 719, 679, 639, 599, 559, 519, 479, 439, 399, 359, 319, 279, 239,
        199, 159, 119, 79, 39,
      ],
      pndm: [
        999, 959, 959, 919, 879, 839, 799, 759, 719, 679, 639, 599, 559, 519, 479, 439, 399, 359, 319, 279,
        239, 199, 159, 119, 79, 39,
      ],
      pndmPrk: [
        999, 979, 979, 959, 959, 939, 939, 919, 919, 899, 899, 879, 879, 839, 799, 759, 719, 679, 639, 599,
        559, 519, 479, 439, 399, 359, 319, 279, 239, 199, 159, 119, 79, 39,
      ],
      euler: [
        999, 959, 919, 879, 839, 799, 759, 719, 679, 639, 599, 559, 519, 479, 439, 399, 359, 319, 279, 239,
        199, 159, 119, 79, 39,
      ],
      eulerInitSigma: 14.614641229333639,
      dpm: [
        999, 959, 919, 879, 839, 799, 759, 719, 679, 639, 599, 559, 519, 479, 439, 399, 359, 319, 279, 239,
        199, 159, 119, 79, 39,
      ],
    },
    linspace: {
      ddim: [
        999, 957, 916, 874, 832, 791, 749, 708, 666, 624, 583, 541, 500, 458, 416, 375, 333, 291, 250, 208,
        166, 125, 83, 42, 0,
      ],
      pndm: [
        999, 957, 957, 916, 874, 832, 791, 749, 708, 666, 624, 583, 541, 500, 458, 416, 375, 333, 291, 250,
        208, 166, 125, 83, 42, 0,
      ],
      pndmPrk: [
        999, 977, 977, 957, 957, 936, 936, 916, 916, 894, 894, 874, 874, 832, 791, 749, 708, 666, 624, 583,
        541, 500, 458, 416, 375, 333, 291, 250, 208, 166, 125, 83, 42, 0,
      ],
      euler: [
        999, 957.375, 915.75, 874.125, 832.5, 790.875, 749.25, 707.625, 666, 624.375, 582.75, 541.125, 499.5,
        457.875, 416.25, 374.625, 333, 291.375, 249.75, 208.125, 166.5, 124.875, 83.25, 41.625, 0,
      ],
      eulerInitSigma: 14.614641229333639,
      dpm: [
        999, 959, 919, 879, 839, 799, 759, 719, 679, 639, 599, 559, 519, 480, 440, 400, 360, 320, 280, 240,
        200, 160, 120, 80, 40,
      ],
    },
    dpmSingle: [
      999, 959, 919, 879, 839, 799, 759, 719, 679, 639, 599, 559, 519, 480, 440, 400, 360, 320, 280, 240, 200,
      160, 120, 80, 40,
    ],
    lcm: [
      999, 959, 919, 879, 839, 799, 759, 719, 679, 639, 599, 559, 519, 479, 439, 399, 359, 319, 279, 239, 199,
      159, 119, 79, 39,
    ],
  },
};

const with_ = (over: Partial<SchedulerConfig>): SchedulerConfig => ({ ...SD15_SCHEDULER, ...over });

function timesteps(name: string, cfg: SchedulerConfig, steps: number): number[] {
  const s = createScheduler(name, cfg);
  s.setTimesteps(steps);
  return [...s.timesteps];
}

describe('timestep spacing as diffusers computes it (SD 1.5, steps_offset 1)', () => {
  for (const n of [12, 25] as const)
    for (const spacing of ['leading', 'trailing', 'linspace'] as const) {
      const want = EXPECTED[n][spacing];
      const cfg = with_({ timestepSpacing: spacing });
      it(`${n} steps, "${spacing}": DDIM, PNDM (PLMS and PRK), Euler, Euler-a, DPM++ 2M`, () => {
        expect(timesteps('ddim', cfg, n)).toEqual(want.ddim);
        expect(timesteps('pndm', cfg, n)).toEqual(want.pndm);
        expect(timesteps('pndm', { ...cfg, skipPrkSteps: false }, n)).toEqual(want.pndmPrk);
        for (const name of ['euler', 'euler-a']) {
          const s = createScheduler(name, cfg);
          s.setTimesteps(n);
          expect(s.timesteps).toEqual(want.euler);
          expect(s.initNoiseSigma).toBeCloseTo(want.eulerInitSigma, 9);
        }
        expect(timesteps('dpm++2m', cfg, n)).toEqual(want.dpm);
      });
      it(`${n} steps, "${spacing}": DPM single-step, LCM and DPM++ 2M Karras ignore the spacing`, () => {
        expect(timesteps('dpm-single', cfg, n)).toEqual(EXPECTED[n].dpmSingle);
        expect(timesteps('lcm', cfg, n)).toEqual(EXPECTED[n].lcm);
        expect(timesteps('dpm++2m-karras', cfg, n)).toEqual(timesteps('dpm++2m-karras', SD15_SCHEDULER, n));
      });
    }

  it('leading adds steps_offset (DDIM, PNDM, Euler, DPM++ 2M); DPM++ 2M leading uses T // (n + 1)', () => {
    const off0 = with_({ timestepSpacing: 'leading', stepsOffset: 0 });
    expect(timesteps('ddim', off0, 12)).toEqual([913, 830, 747, 664, 581, 498, 415, 332, 249, 166, 83, 0]);
    expect(timesteps('euler', off0, 12)).toEqual([913, 830, 747, 664, 581, 498, 415, 332, 249, 166, 83, 0]);
    expect(timesteps('dpm++2m', off0, 12)).toEqual([
      912, 836, 760, 684, 608, 532, 456, 380, 304, 228, 152, 76,
    ]);
    // The case: an export's "leading" at 12 steps is not DPM's linspace.
    expect(timesteps('dpm++2m', with_({ timestepSpacing: 'leading' }), 12)).not.toEqual(
      timesteps('dpm++2m', with_({ timestepSpacing: 'linspace' }), 12),
    );
  });

  it('trailing keeps the n steps asked for where numpy would yield n + 1 (61 steps)', () => {
    for (const name of ['ddim', 'euler', 'dpm++2m']) {
      const t = timesteps(name, with_({ timestepSpacing: 'trailing' }), 61);
      expect(t.length, name).toBe(61);
      expect(t[0]).toBe(999);
      expect(Math.min(...t)).toBeGreaterThanOrEqual(0);
    }
  });
});

describe("defaults when scheduler_config.json lacks a key are each diffusers class's own", () => {
  const bare = parseSchedulerConfig({
    beta_start: 0.00085,
    beta_end: 0.012,
    beta_schedule: 'scaled_linear',
    steps_offset: 1,
  });

  it('timestep_spacing: DDIM and PNDM leading, Euler, Euler-a and DPM++ 2M linspace', () => {
    expect(bare.timestepSpacing).toBeUndefined();
    expect(timesteps('ddim', bare, 12)).toEqual(EXPECTED[12].leading.ddim);
    expect(timesteps('euler', bare, 12)).toEqual(EXPECTED[12].linspace.euler);
    expect(timesteps('euler-a', bare, 12)).toEqual(EXPECTED[12].linspace.euler);
    expect(timesteps('dpm++2m', bare, 12)).toEqual(EXPECTED[12].linspace.dpm);
  });

  it('skip_prk_steps: PNDM runs its Runge-Kutta warm-up (n + 9 model calls)', () => {
    expect(timesteps('pndm', bare, 12)).toEqual(EXPECTED[12].leading.pndmPrk);
    expect(timesteps('pndm', bare, 12)).toHaveLength(21);
    expect(() => createScheduler('pndm', bare).setTimesteps(3)).toThrow(/at least 4 steps/);
  });

  it('a config diffusers saved (every key of its class) makes every sampler follow its spacing', () => {
    // What an SD 1.5 export writes: PNDMScheduler's keys, "leading" among them.
    const saved = parseSchedulerConfig({
      _class_name: 'PNDMScheduler',
      _diffusers_version: '0.36.0',
      beta_end: 0.012,
      beta_schedule: 'scaled_linear',
      beta_start: 0.00085,
      clip_sample: false,
      num_train_timesteps: 1000,
      prediction_type: 'epsilon',
      set_alpha_to_one: false,
      skip_prk_steps: true,
      steps_offset: 1,
      timestep_spacing: 'leading',
      trained_betas: null,
    });
    expect(timesteps('ddim', saved, 25)).toEqual(EXPECTED[25].leading.ddim);
    expect(timesteps('pndm', saved, 25)).toEqual(EXPECTED[25].leading.pndm);
    expect(timesteps('euler', saved, 25)).toEqual(EXPECTED[25].leading.euler);
    expect(timesteps('dpm++2m', saved, 25)).toEqual(EXPECTED[25].leading.dpm);
    expect(timesteps('dpm-single', saved, 25)).toEqual(EXPECTED[25].dpmSingle);
  });

  it('refuses values it does not know, naming the key', () => {
    expect(() => parseSchedulerConfig({ timestep_spacing: 'karras' })).toThrow(/timestep_spacing "karras"/);
    expect(() => parseSchedulerConfig({ final_sigmas_type: 'one' })).toThrow(/final_sigmas_type "one"/);
    expect(() => parseSchedulerConfig({ skip_prk_steps: 'yes' })).toThrow(
      /"skip_prk_steps" must be true or false/,
    );
  });
});

/**
 * Whole runs on Gaussian data x0 ~ N(0, 0.25), whose ideal noise prediction is known, started
 * from the same vector: the end state must equal the one derive_trajectories.py computes by
 * following diffusers' step() code (PRK/PLMS counters, DDIM's prev_t = t - T // n, DPM's
 * lower-order rules, final sigmas).
 */
const TRAJECTORIES: Record<string, number[]> = {
  pndm_plms_leading_12: [
    0.4390613018294401, -0.6341996581980807, 0.1951383563686403, 1.0244763709353617, -0.09756917818432015,
    0.5366304800137607,
  ],
  pndm_plms_trailing_25: [
    0.44309551035202455, -0.6400268482862581, 0.19693133793423323, 1.0338895241547248, -0.09846566896711662,
    0.5415611793191415,
  ],
  pndm_prk_leading_12: [
    0.4391742642313819, -0.6343628261119963, 0.1951885618806144, 1.0247399498732255, -0.0975942809403072,
    0.5367685451716896,
  ],
  pndm_prk_linspace_25: [
    0.4580487268082201, -0.6616259387229841, 0.20357721191476444, 1.0687803625525139, -0.10178860595738222,
    0.5598373327656022,
  ],
  ddim_trailing_12_alpha1: [
    0.3621981274481415, -0.5231750729806488, 0.16097694553250738, 0.8451289640456633, -0.08048847276625369,
    0.44268660021439515,
  ],
  ddim_linspace_12: [
    0.4195342986270708, -0.6059939869057686, 0.18645968827869808, 0.9789133634631647, -0.09322984413934904,
    0.5127641427664194,
  ],
  euler_linspace_12: [
    0.36496926863130763, -0.5271778324674443, 0.1622085638361367, 0.8515949601397174, -0.08110428191806834,
    0.44607355054937575,
  ],
  euler_trailing_12_sigma_min: [
    0.3726263680400699, -0.5382380871689902, 0.16561171912892003, 0.86946152542683, -0.08280585956446002,
    0.45543222760453,
  ],
  dpm_leading_12: [
    0.390064292054376, -0.5634261996340985, 0.17336190757972264, 0.9101500147935437, -0.08668095378986132,
    0.4767452458442373,
  ],
  dpm_leading_25_sigma_min: [
    0.49649356440879855, -0.7171573708127087, 0.22066380640391084, 1.1584849836205304, -0.11033190320195542,
    0.6068254676107543,
  ],
  dpm_linspace_12_sigma_min: [
    0.3971256599837021, -0.5736259533097917, 0.1765002933260898, 0.9266265399619714, -0.0882501466630449,
    0.4853758066467471,
  ],
  dpm_trailing_25_sigma_min_euler_at_final: [
    0.43089582647482033, -0.6224050826858516, 0.19150925621103135, 1.0054235951079136, -0.09575462810551567,
    0.5266504545803362,
  ],
  dpm_single_12_sigma_min: [
    0.48296885920141835, -0.6976216855131598, 0.21465282631174154, 1.126927338136643, -0.10732641315587077,
    0.5902952723572894,
  ],
  dpm_single_13: [
    0.3833416607678696, -0.5537157322202558, 0.17037407145238645, 0.8944638751250286, -0.08518703572619322,
    0.468528696494063,
  ],
};

const X0 = [0.9, -1.3, 0.4, 2.1, -0.2, 1.1];

function run(name: string, cfg: SchedulerConfig, steps: number): Float32Array {
  const s = createScheduler(name, cfg);
  s.setTimesteps(steps);
  const { alphasCumprod } = noiseTables(cfg);
  const x = Float32Array.from(X0, (v) => v * s.initNoiseSigma);
  const inp = new Float32Array(x.length);
  const eps = new Float32Array(x.length);
  const sigmas = (s as unknown as { sigmas?: number[] }).sigmas;
  for (let i = 0; i < s.timesteps.length; i++) {
    s.scaleModelInput(x, i, inp);
    // Euler's sample is in sigma space: the model sees the step's sigma; the others use alpha_bar[t].
    const ab = name === 'euler' ? 1 / (1 + sigmas![i] ** 2) : alphasCumprod[s.timesteps[i]];
    for (let k = 0; k < x.length; k++) eps[k] = (Math.sqrt(1 - ab) * inp[k]) / (ab * 0.25 + 1 - ab);
    s.step(eps, i, x);
  }
  return x;
}

function expectClose(got: Float32Array, want: number[], label: string): void {
  // float32 latents: agreement to ~1e-6 relative; a different step rule moves them by 1e-3 or more.
  for (let k = 0; k < want.length; k++) expect(Math.abs(got[k] - want[k]), label).toBeLessThan(2e-6);
}

describe('whole runs match diffusers step() on a known model', () => {
  it('PNDM: PLMS (leading 12, trailing 25) and the Runge-Kutta warm-up (leading 12, linspace 25)', () => {
    expectClose(
      run('pndm', with_({ timestepSpacing: 'leading' }), 12),
      TRAJECTORIES.pndm_plms_leading_12,
      'plms 12',
    );
    expectClose(
      run('pndm', with_({ timestepSpacing: 'trailing' }), 25),
      TRAJECTORIES.pndm_plms_trailing_25,
      'plms 25',
    );
    const prk = { skipPrkSteps: false };
    expectClose(
      run('pndm', with_({ ...prk, timestepSpacing: 'leading' }), 12),
      TRAJECTORIES.pndm_prk_leading_12,
      'prk 12',
    );
    expectClose(
      run('pndm', with_({ ...prk, timestepSpacing: 'linspace' }), 25),
      TRAJECTORIES.pndm_prk_linspace_25,
      'prk 25',
    );
  });

  it('DDIM: prev_t = t - T // n under trailing and linspace; set_alpha_to_one defaults to true', () => {
    const { setAlphaToOne: _, ...noAlphaKey } = with_({ timestepSpacing: 'trailing' });
    expectClose(run('ddim', noAlphaKey, 12), TRAJECTORIES.ddim_trailing_12_alpha1, 'trailing, class default');
    expectClose(
      run('ddim', with_({ timestepSpacing: 'linspace' }), 12),
      TRAJECTORIES.ddim_linspace_12,
      'linspace',
    );
  });

  it('Euler: fractional linspace timesteps; final_sigmas_type "sigma_min" stops at sigma_min', () => {
    expectClose(
      run('euler', with_({ timestepSpacing: 'linspace' }), 12),
      TRAJECTORIES.euler_linspace_12,
      'linspace',
    );
    const e = new EulerScheduler(with_({ timestepSpacing: 'trailing', finalSigmasType: 'sigma_min' }));
    e.setTimesteps(12);
    expect(e.sigmas[12]).toBeCloseTo(noiseTables(SD15_SCHEDULER).sigmas[0], 12);
    expectClose(
      run('euler', with_({ timestepSpacing: 'trailing', finalSigmasType: 'sigma_min' }), 12),
      TRAJECTORIES.euler_trailing_12_sigma_min,
      'sigma_min',
    );
    const a = new EulerScheduler(with_({ finalSigmasType: 'sigma_min' }), true);
    a.setTimesteps(12);
    expect(a.sigmas[12]).toBe(0); // Euler-ancestral has no final_sigmas_type
  });

  it('DPM++ 2M: leading at 12 steps; last step second order only with sigma_min and >= 15 steps or without lower_order_final', () => {
    expectClose(
      run('dpm++2m', with_({ timestepSpacing: 'leading' }), 12),
      TRAJECTORIES.dpm_leading_12,
      'leading 12',
    );
    const min = { finalSigmasType: 'sigma_min' as const };
    expectClose(
      run('dpm++2m', with_({ ...min, timestepSpacing: 'leading' }), 25),
      TRAJECTORIES.dpm_leading_25_sigma_min,
      'leading 25 sigma_min',
    );
    expectClose(
      run('dpm++2m', with_({ ...min, timestepSpacing: 'linspace' }), 12),
      TRAJECTORIES.dpm_linspace_12_sigma_min,
      'linspace 12 sigma_min',
    );
    expectClose(
      run('dpm++2m', with_({ ...min, timestepSpacing: 'trailing', eulerAtFinal: true }), 25),
      TRAJECTORIES.dpm_trailing_25_sigma_min_euler_at_final,
      'euler_at_final',
    );
    const s = new DpmMultistepScheduler(with_(min));
    s.setTimesteps(25);
    expect(s.firstOrderFinal).toBe(false);
    s.setTimesteps(14);
    expect(s.firstOrderFinal).toBe(true);
    const z = new DpmMultistepScheduler(SD15_SCHEDULER);
    z.setTimesteps(25);
    expect(z.firstOrderFinal).toBe(true);
  });

  it('DPM single-step: order lists and runs with a final sigma of 0 or sigma_min', () => {
    const s = new DpmSinglestepScheduler(with_({ finalSigmasType: 'sigma_min' }));
    s.setTimesteps(12);
    expect(s.orderList).toEqual([1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2]);
    expectClose(
      run('dpm-single', with_({ finalSigmasType: 'sigma_min' }), 12),
      TRAJECTORIES.dpm_single_12_sigma_min,
      '12 sigma_min',
    );
    const l = new DpmSinglestepScheduler(with_({ finalSigmasType: 'sigma_min', lowerOrderFinal: true }));
    l.setTimesteps(12);
    expect(l.orderList).toEqual([1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 1]);
    const z = new DpmSinglestepScheduler(SD15_SCHEDULER);
    z.setTimesteps(13);
    expect(z.orderList).toEqual([1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]);
    expectClose(run('dpm-single', SD15_SCHEDULER, 13), TRAJECTORIES.dpm_single_13, '13 zero');
  });

  it('PNDM with the Runge-Kutta warm-up: img2img rebuilds it on the shortened schedule, or says why it cannot', () => {
    const s = new PndmScheduler(with_({ skipPrkSteps: false }));
    s.setTimesteps(20);
    expect(s.setStrength(0.5)).toBe(0);
    // The last 10 of 20 leading timesteps (1 .. 451): warm-up on 301 .. 451 with half steps of 25.
    expect(s.timesteps).toEqual([
      451, 426, 426, 401, 401, 376, 376, 351, 351, 326, 326, 301, 301, 251, 201, 151, 101, 51, 1,
    ]);
    expect(s.prkCalls).toBe(12);
    expect(() => s.setStrength(0.15)).toThrow(/needs at least 4 steps of the schedule/);
  });
});
