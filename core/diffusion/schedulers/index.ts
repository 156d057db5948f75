/**
 * The scheduler table: every sampler users can pick, by name, with the factory that builds it
 * from a scheduler config. The SamplerName type, the SAMPLERS list and the FACECHAIN_SD_SAMPLER
 * setting are derived from it, so adding a sampler is its own file plus one line here.
 */
import { InputError } from '../../../base/errors.ts';
import type { Scheduler } from './base.ts';
import type { SchedulerConfig } from './config.ts';
import { DdimScheduler } from './ddim.ts';
import { DpmMultistepScheduler, DpmSinglestepScheduler } from './dpm.ts';
import { EulerScheduler } from './euler.ts';
import { LcmScheduler } from './lcm.ts';
import { PndmScheduler } from './pndm.ts';

export type { NoiseSource, Scheduler } from './base.ts';
export { parseSchedulerConfig, type SchedulerConfig, SD15_SCHEDULER } from './config.ts';

const TABLE = {
  ddim: (cfg: SchedulerConfig) => new DdimScheduler(cfg),
  pndm: (cfg: SchedulerConfig) => new PndmScheduler(cfg),
  euler: (cfg: SchedulerConfig) => new EulerScheduler(cfg, false),
  'euler-a': (cfg: SchedulerConfig) => new EulerScheduler(cfg, true),
  'dpm++2m': (cfg: SchedulerConfig) => new DpmMultistepScheduler(cfg, false),
  'dpm++2m-karras': (cfg: SchedulerConfig) => new DpmMultistepScheduler(cfg, true),
  'dpm-single': (cfg: SchedulerConfig) => new DpmSinglestepScheduler(cfg),
  lcm: (cfg: SchedulerConfig) => new LcmScheduler(cfg),
} satisfies Record<string, (cfg: SchedulerConfig) => Scheduler>;

export type SamplerName = keyof typeof TABLE;

/** Sampler names in the table's order (a non-empty tuple, as zod's enum wants). */
export const SAMPLERS = Object.keys(TABLE) as [SamplerName, ...SamplerName[]];

export function isSamplerName(s: string): s is SamplerName {
  return Object.hasOwn(TABLE, s);
}

export function createScheduler(name: string, cfg: SchedulerConfig): Scheduler {
  if (!isSamplerName(name))
    throw new InputError('bad_sampler', `Unknown sampler "${name}". Choose one of: ${SAMPLERS.join(', ')}.`);
  return TABLE[name](cfg);
}
