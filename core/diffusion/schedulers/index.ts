/** Sampler names users pick from, and the factory that builds each from a scheduler config. */
import { InputError } from '../../../base/errors.ts';
import type { SamplerName, Scheduler } from './base.ts';
import type { SchedulerConfig } from './config.ts';
import { DdimScheduler } from './ddim.ts';
import { DpmMultistepScheduler, DpmSinglestepScheduler } from './dpm.ts';
import { EulerScheduler } from './euler.ts';
import { LcmScheduler } from './lcm.ts';
import { PndmScheduler } from './pndm.ts';

export type { NoiseSource, SamplerName, Scheduler } from './base.ts';
export { parseSchedulerConfig, type SchedulerConfig, SD15_SCHEDULER } from './config.ts';

export const SAMPLERS: readonly SamplerName[] = [
  'ddim',
  'pndm',
  'euler',
  'euler-a',
  'dpm++2m',
  'dpm++2m-karras',
  'dpm-single',
  'lcm',
];

export function isSamplerName(s: string): s is SamplerName {
  return (SAMPLERS as readonly string[]).includes(s);
}

export function createScheduler(name: string, cfg: SchedulerConfig): Scheduler {
  switch (name) {
    case 'ddim':
      return new DdimScheduler(cfg);
    case 'pndm':
      return new PndmScheduler(cfg);
    case 'euler':
      return new EulerScheduler(cfg, false);
    case 'euler-a':
      return new EulerScheduler(cfg, true);
    case 'dpm++2m':
      return new DpmMultistepScheduler(cfg, false);
    case 'dpm++2m-karras':
      return new DpmMultistepScheduler(cfg, true);
    case 'dpm-single':
      return new DpmSinglestepScheduler(cfg);
    case 'lcm':
      return new LcmScheduler(cfg);
    default:
      throw new InputError(
        'bad_sampler',
        `Unknown sampler "${name}". Choose one of: ${SAMPLERS.join(', ')}.`,
      );
  }
}
