/**
 * Prompt building as FaceChain does it (facechain/inference.py, v3.0.0, and inference_fact.py):
 *
 *   face LoRA:  "(<fcsks>:10), " + identity phrase + ", " + frequent tags + style text + quality words
 *   FACT:       identity phrase + ", " + age words (men, FairFace ages 10–39) + style text + quality words
 *
 * The identity phrase comes from the prepared identity's gender and age band (core/identity):
 * "a boy, children" / "a girl, children", "a handsome man" / "a beautiful woman", "a mature man" /
 * "a mature woman". Adult and mature men get ", children" added to the negative prompt.
 * The weighted trigger "(<fcsks>:10)" and the negative prompt's "(...:2)" are plain text to
 * FaceChain's diffusers, which does not parse A1111 weights; the plan (plan.ts) has the engine
 * read these prompts the same way unless a pack asks for "a1111" weighting. Every part can be
 * overridden per style pack.
 */
import { type AgeBand, agePhrase, fairfaceBin, type Gender, TRIGGER_TOKEN } from '../identity/caption.ts';
import type { StylePackSpec } from './pack.ts';

/** FaceChain's quality words after the style text (pos_prompt_with_style). */
export const QUALITY_WORDS =
  'upper_body, raw photo, masterpiece, solo, medium shot, high detail face, photorealistic, best quality';

/** FaceChain's negative prompt (app.py, v1.1–v3.0). */
export const NEGATIVE_PROMPT =
  '(nsfw:2), paintings, sketches, (worst quality:2), (low quality:2), lowers, normal quality, ((monochrome)), ' +
  '((grayscale)), logo, word, character, bad hand, tattoo, (username, watermark, signature, time signature, ' +
  'timestamp, artist name, copyright name, copyright),low res, ((monochrome)), ((grayscale)), skin spots, acnes, ' +
  'skin blemishes, age spot, glans, extra fingers, fewer fingers, strange fingers, bad hand, mole, ' +
  '((extra legs)), ((extra hands))';

export const WEIGHTED_TRIGGER = `(${TRIGGER_TOKEN}:10)`;

/** FaceChain keeps caption tags present in more than half of the photos that mention these words. */
const TAG_WORDS = ['hair', 'face', 'mouth', 'skin', 'smile'];

/** Tags in more than half of the captions that describe hair, face, mouth, skin or smile, in first-seen order. */
export function frequentTags(captions: readonly (readonly string[])[]): string[] {
  const counts = new Map<string, number>();
  for (const c of captions) for (const t of new Set(c)) counts.set(t, (counts.get(t) ?? 0) + 1);
  const out: string[] = [];
  for (const [tag, n] of counts)
    if (n > 0.5 * captions.length && TAG_WORDS.some((w) => tag.includes(w))) out.push(tag);
  return out;
}

export interface PromptIdentity {
  gender: Gender;
  ageBand: AgeBand;
  /** Age in years, for FACT's age words; optional. */
  age?: number;
  /** Frequent attribute tags (see frequentTags). */
  tags?: readonly string[];
}

export type IdentityMode = 'lora' | 'fact';

export interface BuiltPrompt {
  prompt: string;
  negativePrompt: string;
}

/** FACT's age words for FairFace bins 2–4 (ages 10–39); FaceChain omits them for women. */
function ageWords(identity: PromptIdentity): string {
  if (identity.age === undefined || identity.gender === 'female') return '';
  const bin = fairfaceBin(identity.age);
  if (bin < 2 || bin > 4) return '';
  return ['20-year-old', '25-year-old', '35-year-old'][bin - 2]!;
}

/** The positive and negative prompts for one identity in one style. */
export function buildPrompt(
  identity: PromptIdentity,
  style: Pick<StylePackSpec, 'prompt' | 'overrides'>,
  mode: IdentityMode,
  extra?: string,
): BuiltPrompt {
  const o = style.overrides ?? {};
  const phrase = agePhrase(identity.gender, identity.ageBand);
  const styleText = [style.prompt.trim().replace(/,\s*$/, ''), extra?.trim()].filter(Boolean).join(', ');
  const tail = [styleText, o.quality ?? QUALITY_WORDS].filter(Boolean).join(', ');
  const head =
    mode === 'lora'
      ? [o.trigger ?? WEIGHTED_TRIGGER, phrase, ...(identity.tags ?? [])]
      : [phrase, ageWords(identity)];
  const prompt = [...head.filter(Boolean), tail].join(', ');
  let negativePrompt = o.negative ?? NEGATIVE_PROMPT;
  if (identity.gender === 'male' && identity.ageBand !== 'child') negativePrompt += ', children';
  if (o.negativeExtra) negativePrompt += `, ${o.negativeExtra}`;
  return { prompt, negativePrompt };
}
