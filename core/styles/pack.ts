/**
 * The style pack format. A pack is a folder `<id>/` holding `style.json`, an optional preview
 * image and optional LoRA files:
 *
 *   {
 *     "id": "studio-headshot",
 *     "name": { "en": "Studio headshot", "zh": "影棚头像" },
 *     "description": { "en": "A dark blazer before a grey backdrop", "zh": "深色西装外套，灰色背景" },
 *     "base": "sd15-film",                       // base model the pack was made for
 *     "loras": [{ "file": "style.safetensors", "multiplier": 0.25 }],   // or { "model": "<model id>" }
 *     "humanMultiplier": 0.95,                   // face-LoRA multiplier used with this style
 *     "prompt": "grey seamless backdrop, ...",   // FaceChain's add_prompt_style
 *     "overrides": { "trigger": "...", "quality": "...", "negative": "...", "negativeExtra": "..." },
 *     "sampler": { "name": "dpm-single", "steps": 40, "cfg": 7, "width": 512, "height": 512 },
 *     "weighting": "facechain-plain",            // or "a1111" (see below)
 *     "preview": "preview.jpg",
 *     "licence": { "spdx": "Apache-2.0", "source": "written for facechain-bot" }
 *   }
 *
 * `weighting` says how the pack's prompts are read. "facechain-plain" (the default, and what the
 * importer writes): as FaceChain has diffusers read them, plain text cut to one 77-token window,
 * so "(<fcsks>:10)" and the negative prompt's "(...:2)" are characters, not weights. "a1111": the
 * attention syntax applies (for packs whose prompts were written with A1111 weights in mind).
 */
import { z } from 'zod';
import { LIMITS } from '../diffusion/options.ts';

/** FaceChain's multiplier ranges: style 0.15–0.8 in its packs (we allow 0–2), face 0.8–0.95 (slider to 1.2). */
export const DEFAULT_STYLE_MULTIPLIER = 0.25;
export const DEFAULT_HUMAN_MULTIPLIER = 0.95;

const relFile = z
  .string()
  .regex(/^[\w.-]+(\/[\w.-]+)*$/, 'a file name inside the pack folder (no .., no absolute path)')
  .refine((s) => !s.split('/').includes('..'), 'no ..');

export const loraRefSchema = z.union([
  z.object({
    file: relFile.refine((s) => s.endsWith('.safetensors'), 'LoRA files must be .safetensors'),
    multiplier: z.number().min(0).max(2).default(DEFAULT_STYLE_MULTIPLIER),
  }),
  z.object({
    /** A model id from models/manifests (fetched by the model store). */
    model: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    multiplier: z.number().min(0).max(2).default(DEFAULT_STYLE_MULTIPLIER),
  }),
]);

// The engine's own limits: a pack that passes the check also runs (core/diffusion/options.ts).
export const samplerSchema = z.object({
  name: z.string().optional(),
  steps: z.number().int().min(1).max(LIMITS.maxSteps).optional(),
  cfg: z.number().min(0).max(LIMITS.maxGuidance).optional(),
  width: z.number().int().min(LIMITS.minSize).max(LIMITS.maxSize).multipleOf(8).optional(),
  height: z.number().int().min(LIMITS.minSize).max(LIMITS.maxSize).multipleOf(8).optional(),
});

export const stylePackSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes'),
  name: z.object({ en: z.string().min(1).max(80), zh: z.string().min(1).max(80).optional() }),
  /** One line for the style gallery, in English and (optionally) Simplified Chinese. */
  description: z
    .object({ en: z.string().min(1).max(200), zh: z.string().min(1).max(200).optional() })
    .optional(),
  base: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  loras: z.array(loraRefSchema).max(4).default([]),
  humanMultiplier: z.number().min(0).max(1.2).default(DEFAULT_HUMAN_MULTIPLIER),
  prompt: z.string().max(2000).default(''),
  overrides: z
    .object({
      /** Replaces FaceChain's weighted trigger "(<fcsks>:10)" in face-LoRA prompts. */
      trigger: z.string().max(200).optional(),
      /** Replaces the quality words after the style text. */
      quality: z.string().max(1000).optional(),
      /** Replaces the negative prompt. */
      negative: z.string().max(2000).optional(),
      /** Appended to the negative prompt. */
      negativeExtra: z.string().max(1000).optional(),
    })
    .default({}),
  sampler: samplerSchema.default({}),
  weighting: z.enum(['facechain-plain', 'a1111']).default('facechain-plain'),
  preview: relFile.nullable().default(null),
  licence: z.object({ spdx: z.string().min(1), source: z.string().optional(), url: z.string().optional() }),
  /** Where an imported pack came from (e.g. FaceChain's model id and file), for the operator. */
  origin: z.record(z.string(), z.unknown()).optional(),
});

export type StylePackJson = z.input<typeof stylePackSchema>;
export type StylePackSpec = z.output<typeof stylePackSchema>;
export type LoraRef = z.output<typeof loraRefSchema>;

/** A loaded, validated pack: the spec plus resolved paths. */
export interface StylePack extends StylePackSpec {
  dir: string;
  /** Absolute preview path, when the pack has one. */
  previewPath: string | null;
  /** Resolved LoRA references: a file path, or a model id for the model store. */
  loraPaths: ({ path: string; multiplier: number } | { model: string; multiplier: number })[];
}
