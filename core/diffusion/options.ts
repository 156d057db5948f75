/**
 * What a caller may ask of the generation pipeline (GenerateOptions), the limits, and their
 * validation: bad input is refused before any model work, with a stable InputError code.
 */

import { InputError } from '../../base/errors.ts';
import { config } from '../config.ts';
import type { RgbImage } from '../image/codec.ts';
import { PROMPT_WEIGHTINGS, type PromptWeighting } from './prompt.ts';
import { isSamplerName, SAMPLERS, type SamplerName } from './schedulers/index.ts';

export interface ControlSpec {
  /** A ControlNet name known to the pipeline (folder "controlnet-<name>" or given at creation). */
  model: string;
  /** Conditioning image (any size; resized to the output size). */
  image: RgbImage;
  /** Conditioning scale; 1 by default. */
  scale?: number;
  /** "canny" computes edges from the image here; "none" uses it as given (e.g. an OpenPose image). */
  preprocess?: 'canny' | 'none';
}

export interface GenerateOptions {
  prompt: string;
  negativePrompt?: string;
  /**
   * How both prompts are read: "a1111" (default; attention syntax, long prompts in several
   * windows) or "plain" (as diffusers reads FaceChain's prompts: characters as they are, cut to
   * one 77-token window). See prompt.ts.
   */
  promptWeighting?: PromptWeighting;
  width?: number;
  height?: number;
  steps?: number;
  guidanceScale?: number;
  /** 0..1; 0 (default) disables guidance rescale. */
  guidanceRescale?: number;
  /** Default FACECHAIN_SD_SAMPLER (dpm-single, FaceChain's sampler). */
  sampler?: string;
  /** 0 .. 2^32-1; random when absent. Image i uses seed + i. */
  seed?: number;
  count?: number;
  /** Images denoised together in one model call per step (1..8, default 1; FaceChain uses 5). */
  batchSize?: number;
  initImage?: RgbImage;
  /** img2img / inpainting strength, (0, 1]; default 0.75 with an init image. */
  strength?: number;
  /** White = repaint. Needs initImage. A 9-channel UNet is used as such; others blend latents. */
  mask?: RgbImage;
  controls?: ControlSpec[];
  /** Send a cheap latent preview every N steps (0 = never). */
  previewEvery?: number;
  /** Also return the final latents (for latent-space checks and latent upscaling). */
  returnLatents?: boolean;
  /**
   * "More like this": mix each image's starting noise with the noise of `seed` (strength 0 = the
   * original image, 1 = the variation seed's image). Image n uses variation seed + n as well.
   */
  variation?: { seed: number; strength: number };
}

export const LIMITS = {
  minSize: 64,
  maxSize: 2048,
  maxSteps: 150,
  maxCount: 8,
  maxGuidance: 30,
  maxPromptChars: 4000,
} as const;

export function bad(code: string, message: string): never {
  throw new InputError(code, message);
}

function checkInt(name: string, v: number, min: number, max: number, code: string): void {
  if (!Number.isInteger(v) || v < min || v > max)
    bad(code, `${name} must be a whole number from ${min} to ${max} (got ${v}).`);
}

/** Options after validation and defaults. */
export interface ResolvedOptions {
  prompt: string;
  negative: string;
  weighting: PromptWeighting;
  width: number;
  height: number;
  steps: number;
  guidance: number;
  rescale: number;
  sampler: SamplerName;
  seed: number;
  count: number;
  batchSize: number;
  strength?: number;
  variation?: { seed: number; strength: number };
}

/** Validate options and fill in defaults; bad input is an InputError with a stable code. */
export function resolveOptions(o: GenerateOptions): ResolvedOptions {
  if (typeof o.prompt !== 'string') bad('bad_prompt', 'A prompt is required.');
  const negative = o.negativePrompt ?? '';
  const weighting = o.promptWeighting ?? 'a1111';
  if (!PROMPT_WEIGHTINGS.includes(weighting))
    bad(
      'bad_prompt_weighting',
      `Prompt weighting must be one of ${PROMPT_WEIGHTINGS.join(', ')} (got "${weighting}").`,
    );
  if (o.prompt.length > LIMITS.maxPromptChars || negative.length > LIMITS.maxPromptChars)
    bad('prompt_too_long', `Prompts are limited to ${LIMITS.maxPromptChars} characters.`);
  const width = o.width ?? 512;
  const height = o.height ?? 512;
  for (const [n, v] of [
    ['Width', width],
    ['Height', height],
  ] as const) {
    checkInt(n, v, LIMITS.minSize, LIMITS.maxSize, 'bad_size');
    if (v % 8) bad('bad_size', `${n} must be a multiple of 8 (got ${v}); try ${Math.round(v / 8) * 8}.`);
  }
  const steps = o.steps ?? 30;
  checkInt('Steps', steps, 1, LIMITS.maxSteps, 'bad_steps');
  const guidance = o.guidanceScale ?? 7.5;
  if (!(guidance >= 0 && guidance <= LIMITS.maxGuidance))
    bad('bad_guidance', `Guidance scale must be from 0 to ${LIMITS.maxGuidance} (got ${guidance}).`);
  const rescale = o.guidanceRescale ?? 0;
  if (!(rescale >= 0 && rescale <= 1))
    bad('bad_guidance', `Guidance rescale must be from 0 to 1 (got ${rescale}).`);
  const sampler = o.sampler ?? config().FACECHAIN_SD_SAMPLER;
  if (!isSamplerName(sampler))
    bad('bad_sampler', `Unknown sampler "${sampler}". Choose one of: ${SAMPLERS.join(', ')}.`);
  const count = o.count ?? 1;
  checkInt('Image count', count, 1, LIMITS.maxCount, 'bad_count');
  const batchSize = o.batchSize ?? 1;
  checkInt('Batch size', batchSize, 1, LIMITS.maxCount, 'bad_count');
  const seed = o.seed ?? Math.floor(Math.random() * 0x100000000);
  checkInt('Seed', seed, 0, 0xffffffff, 'bad_seed');
  if (o.mask && !o.initImage) bad('mask_without_image', 'A mask needs the image it applies to (initImage).');
  let strength: number | undefined;
  const variation = o.variation;
  if (variation) {
    checkInt('Variation seed', variation.seed, 0, 0xffffffff, 'bad_seed');
    if (!(variation.strength >= 0 && variation.strength <= 1))
      bad('bad_variation', `Variation strength must be from 0 to 1 (got ${variation.strength}).`);
  }
  if (o.initImage) {
    strength = o.strength ?? (o.mask ? 1 : 0.75);
    if (!(strength > 0 && strength <= 1))
      bad('bad_strength', `Strength must be above 0 and at most 1 (got ${strength}).`);
  } else if (o.strength !== undefined)
    bad('strength_without_image', 'Strength applies only with an init image.');
  return {
    prompt: o.prompt,
    negative,
    weighting,
    width,
    height,
    steps,
    guidance,
    rescale,
    sampler,
    seed,
    count,
    batchSize,
    strength,
    variation,
  };
}
