/**
 * Which animation engine runs: the GPU engine when its model files are installed and verified,
 * otherwise the basic animator. An explicit choice of an engine that is not installed is a
 * NotAvailableError; the chosen engine always names itself, so a reply never passes one off as
 * the other.
 */

import { InputError } from '../../base/errors.ts';
import type { ModelStore } from '../../models/store.ts';
import { BasicEngine } from './basic.ts';
import {
  ENHANCER_MODEL,
  modelsProblem,
  SADTALKER_MODELS,
  SadTalkerEngine,
  type SadTalkerOptions,
} from './sadtalker.ts';
import type { AnimationEngine, EngineName } from './types.ts';

export type EngineChoice = 'auto' | EngineName;
export const ENGINE_CHOICES: readonly EngineChoice[] = ['auto', 'basic', 'sadtalker'];

export function parseEngineChoice(value: string | undefined): EngineChoice {
  const v = (value ?? 'auto').trim().toLowerCase();
  if ((ENGINE_CHOICES as readonly string[]).includes(v)) return v as EngineChoice;
  throw new InputError(
    'unknown_engine',
    `Unknown animation engine "${value}". Choose one of: ${ENGINE_CHOICES.join(', ')}.`,
  );
}

export interface EngineStatus {
  name: EngineName;
  available: boolean;
  /** Why not, when unavailable. */
  reason?: string;
}

/** What is installed on this machine (file checks only; nothing is loaded). */
export async function engineStatus(
  store: ModelStore,
  o: { enhance?: boolean } = {},
): Promise<EngineStatus[]> {
  // With the enhancer asked for (FACECHAIN_TALK_ENHANCE), the GPU engine counts only with it.
  const problem =
    (await modelsProblem(store, Object.values(SADTALKER_MODELS))) ??
    (o.enhance
      ? await modelsProblem(store, [ENHANCER_MODEL]).then((p) =>
          p ? `FACECHAIN_TALK_ENHANCE is on, but the face enhancer is missing: ${p}` : undefined,
        )
      : undefined);
  return [
    { name: 'sadtalker', available: !problem, ...(problem ? { reason: problem } : {}) },
    { name: 'basic', available: true },
  ];
}

/**
 * Load the engine for a choice: 'auto' takes the GPU engine when it is installed, else basic;
 * a named engine is that engine or an error saying why it cannot run here.
 */
export async function pickEngine(
  store: ModelStore,
  choice: EngineChoice = 'auto',
  opts: SadTalkerOptions = {},
): Promise<AnimationEngine> {
  if (choice === 'basic') return new BasicEngine();
  if (choice === 'sadtalker') return SadTalkerEngine.load(store, opts);
  const problem = await modelsProblem(store, Object.values(SADTALKER_MODELS));
  return problem ? new BasicEngine() : SadTalkerEngine.load(store, opts);
}
