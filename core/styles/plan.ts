/**
 * What one generation request needs from identity and style, resolved before any GPU work: the
 * prompts, the LoRAs with their multipliers (face LoRA at the pack's human multiplier, style LoRAs
 * at theirs, a user's uploaded style on top), the sampler settings and, for FACT, the adapter
 * scale. The generation engine merges `loras` (switcher or merged-session cache, keyed by
 * `cacheKey`) and runs the sampler.
 */

import { InputError } from '../../base/errors.ts';
import type { ModelStore } from '../../models/store.ts';
import type { PromptWeighting } from '../diffusion/prompt.ts';
import type { SamplerName } from '../diffusion/schedulers/index.ts';
import type { AgeBand, Gender } from '../identity/caption.ts';
import type { LoraLibrary } from '../lora/library.ts';
import type { LoraUse } from '../lora/match.ts';
import { mergeKey } from '../lora/session-cache.ts';
import type { StylePack } from './pack.ts';
import { buildPrompt, type IdentityMode } from './prompt.ts';

export interface SamplerSettings {
  name: string;
  steps: number;
  cfg: number;
  width: number;
  height: number;
}

/** FaceChain's settings: DPM-Solver single-step 40 steps (face LoRA), PNDM 50 steps (FACT), CFG 7, 512². */
export const SAMPLER_DEFAULTS: Record<IdentityMode, SamplerSettings> = {
  lora: { name: 'dpm-single', steps: 40, cfg: 7, width: 512, height: 512 },
  fact: { name: 'pndm', steps: 50, cfg: 7, width: 512, height: 512 },
};

export type IdentityInput =
  | { kind: 'lora'; loraFile: string; gender: Gender; ageBand: AgeBand; age?: number; tags?: string[] }
  | { kind: 'fact'; gender: Gender; ageBand: AgeBand; age?: number };

export interface PlanOverrides {
  styleMultiplier?: number;
  faceMultiplier?: number;
  adapterScale?: number;
  /** Extra words from the user, appended to the style text. */
  extraPrompt?: string;
  sampler?: Partial<SamplerSettings>;
}

export interface GenerationPlan {
  mode: IdentityMode;
  base: string;
  style: string;
  prompt: string;
  negativePrompt: string;
  /**
   * How the engine reads both prompts (GenerateOptions.promptWeighting): "plain" for packs in
   * FaceChain's way (the default), "a1111" for packs that ask for it. A user's extra words and
   * uploaded style prompt become part of the pack's prompt and are read the same way.
   */
  promptWeighting: PromptWeighting;
  sampler: SamplerSettings;
  loras: LoraUse[];
  /** FACT only. */
  adapterScale?: number;
  /** Identifies base + LoRAs + multipliers for the merged-session cache. */
  cacheKey: string;
}

/** The engine options a plan fixes (prompts, how they are read, sampler, steps, CFG): one place for every caller. */
export function planOptions(plan: GenerationPlan) {
  return {
    prompt: plan.prompt,
    negativePrompt: plan.negativePrompt,
    promptWeighting: plan.promptWeighting,
    steps: plan.sampler.steps,
    guidanceScale: plan.sampler.cfg,
    sampler: plan.sampler.name as SamplerName,
  };
}

function checkRange(name: string, v: number | undefined, max: number): void {
  if (v !== undefined && !(v >= 0 && v <= max))
    throw new InputError('bad_option', `${name} ${v} is out of range; use 0–${max}.`);
}

export async function planGeneration(
  identity: IdentityInput,
  pack: StylePack,
  deps: {
    library: LoraLibrary;
    store?: ModelStore;
    defaultAdapterScale: number;
    userStyle?: { id: string; file: string; multiplier: number; prompt: string };
  },
  overrides: PlanOverrides = {},
): Promise<GenerationPlan> {
  checkRange('Style strength', overrides.styleMultiplier, 2);
  checkRange('Face strength', overrides.faceMultiplier, 1.2);
  checkRange('Adapter scale', overrides.adapterScale, 2);
  const mode: IdentityMode = identity.kind;
  const loras: LoraUse[] = [];
  if (identity.kind === 'lora')
    loras.push({
      lora: await deps.library.get(identity.loraFile, `face:${identity.loraFile}`),
      multiplier: overrides.faceMultiplier ?? pack.humanMultiplier,
    });
  for (const [i, ref] of pack.loraPaths.entries()) {
    let file: string;
    if ('path' in ref) file = ref.path;
    else if (deps.store) file = await deps.store.path(ref.model);
    else
      throw new InputError(
        'style_unavailable',
        `Style "${pack.id}" needs model "${ref.model}", which is not installed.`,
      );
    loras.push({
      lora: await deps.library.get(file, `style:${pack.id}:${i}`),
      multiplier: overrides.styleMultiplier ?? ref.multiplier,
    });
  }
  let extra = overrides.extraPrompt;
  if (deps.userStyle) {
    loras.push({
      lora: await deps.library.get(deps.userStyle.file, `user-style:${deps.userStyle.id}`),
      multiplier: deps.userStyle.multiplier,
    });
    extra = [deps.userStyle.prompt, extra].filter(Boolean).join(', ');
  }
  const { prompt, negativePrompt } = buildPrompt(identity, pack, mode, extra);
  const defined = (o: object = {}) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const sampler = {
    ...SAMPLER_DEFAULTS[mode],
    ...defined(pack.sampler),
    ...defined(overrides.sampler),
  } as SamplerSettings;
  const adapterScale = mode === 'fact' ? (overrides.adapterScale ?? deps.defaultAdapterScale) : undefined;
  return {
    mode,
    base: pack.base,
    style: pack.id,
    prompt,
    negativePrompt,
    promptWeighting: pack.weighting === 'a1111' ? 'a1111' : 'plain',
    sampler,
    loras,
    ...(adapterScale !== undefined ? { adapterScale } : {}),
    cacheKey: mergeKey(pack.base, loras),
  };
}
