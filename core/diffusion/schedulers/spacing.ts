/**
 * Inference timesteps in diffusers' spacing conventions ("leading", "trailing", "linspace";
 * Table 2 of Lin et al. 2023, "Common Diffusion Noise Schedules and Sample Steps are Flawed"),
 * largest first. numpy's linspace and arange are reproduced operation for operation, because
 * rounding an exact half depends on the last bit of the value numpy computes.
 */

export type TimestepSpacing = 'leading' | 'linspace' | 'trailing';

/** numpy.linspace(start, stop, num): i * step + start, the last value exactly stop. */
export function linspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  out[num - 1] = stop;
  return out;
}

/** numpy.arange(start, stop, step) for floats: ceil((stop - start) / step) values, filled from the first two. */
export function arange(start: number, stop: number, step: number): number[] {
  const len = Math.ceil((stop - start) / step);
  if (!(len > 0)) return [];
  const out = [start];
  if (len > 1) out.push(start + step);
  const delta = len > 1 ? out[1] - start : step;
  for (let i = 2; i < len; i++) out.push(start + i * delta);
  return out;
}

/** numpy rounds halves to even; Math.round rounds them up. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * numpy's arange can yield one value too many for "trailing" (T / n does not always divide T back
 * into exactly n pieces in floating point: n = 61, 103, 121, 122, ... for T = 1000); diffusers
 * then runs an extra step at timestep -1. We keep the n steps asked for.
 */
function trailing(T: number, n: number): number[] {
  return arange(T, 0, -(T / n))
    .slice(0, n)
    .map((t) => roundHalfEven(t) - 1);
}

/**
 * DDIM, PNDM and Euler (set_timesteps of DDIMScheduler, PNDMScheduler, EulerDiscreteScheduler,
 * EulerAncestralDiscreteScheduler), largest first:
 * - leading:  (0 .. n-1) × (T // n), reversed, + steps_offset
 * - trailing: round(arange(T, 0, -T / n)) - 1
 * - linspace: linspace(0, T - 1, n), rounded to integers, reversed; Euler keeps the fractions as
 *   float32 values (`fractional`).
 */
export function spacedTimesteps(
  T: number,
  n: number,
  spacing: TimestepSpacing,
  stepsOffset: number,
  fractional = false,
): number[] {
  if (spacing === 'leading') {
    const ratio = Math.floor(T / n);
    return Array.from({ length: n }, (_, k) => (n - 1 - k) * ratio + stepsOffset);
  }
  if (spacing === 'trailing') return trailing(T, n);
  const asc = linspace(0, T - 1, n);
  return asc.map((t) => (fractional ? Math.fround(t) : roundHalfEven(t))).reverse();
}

/**
 * DPMSolverMultistepScheduler's own rules: n + 1 points of which the last (the smallest) is
 * dropped, so a run never asks the model at timestep 0:
 * - leading:  (0 .. n) × (T // (n + 1)), reversed, last dropped, + steps_offset
 * - trailing: round(arange(T, 0, -T / n)) - 1 (as the others)
 * - linspace: linspace(0, T - 1, n + 1), rounded, reversed, last dropped
 */
export function dpmTimesteps(T: number, n: number, spacing: TimestepSpacing, stepsOffset: number): number[] {
  if (spacing === 'leading') {
    const ratio = Math.floor(T / (n + 1));
    return Array.from({ length: n }, (_, k) => (n - k) * ratio + stepsOffset);
  }
  if (spacing === 'trailing') return trailing(T, n);
  return linspace(0, T - 1, n + 1)
    .map(roundHalfEven)
    .reverse()
    .slice(0, n);
}
