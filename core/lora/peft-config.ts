/**
 * PEFT's LoRA scale, where a PEFT-format LoRA keeps it: PEFT's `save_pretrained` writes
 * `adapter_config.json` next to the weights (`r`, `lora_alpha`, `rank_pattern`, `alpha_pattern`,
 * `use_rslora`); diffusers' `save_lora_weights` can put the same fields in the safetensors
 * metadata under `lora_adapter_metadata`, prefixed per model ("unet.r", "unet.lora_alpha", ...).
 * The weights themselves carry no alpha, and merging them at scale 1 would be wrong by
 * lora_alpha / r (FaceChain's training settings: rank 4, alpha 32, a factor of 8).
 *
 * A layer's rank and alpha follow PEFT's rule: the first key of rank_pattern / alpha_pattern, in
 * file order, that matches the layer's module path as the regular expression `(.*\.)?(key)$`,
 * else r / lora_alpha. The scale is lora_alpha / r, or lora_alpha / sqrt(r) with use_rslora.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../base/errors.ts';
import type { LoraComponent } from './keys.ts';

export interface PeftLoraConfig {
  /** Where the config was read (for messages): a file path or "<file> metadata". */
  source: string;
  r: number;
  loraAlpha: number;
  rankPattern: [RegExp, string, number][];
  alphaPattern: [RegExp, string, number][];
  useRslora: boolean;
}

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';

function bad(source: string, reason: string): InputError {
  return new InputError('bad_lora', `${source}: ${reason}.`, { context: { lora: source } });
}

function positive(v: unknown, key: string, source: string, integer: boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v)))
    throw bad(source, `"${key}" must be a positive ${integer ? 'whole number' : 'number'}`);
  return v;
}

function patterns(v: unknown, key: string, source: string, integer: boolean): [RegExp, string, number][] {
  if (v === undefined || v === null) return [];
  if (typeof v !== 'object' || Array.isArray(v)) throw bad(source, `"${key}" must be an object`);
  return Object.entries(v as Record<string, unknown>).map(([k, value]) => {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:.*\\.)?(?:${k})$`);
    } catch {
      throw bad(source, `"${key}" has a pattern that is not a regular expression: ${k}`);
    }
    return [re, k, positive(value, `${key}.${k}`, source, integer)];
  });
}

/** Validate a PEFT LoRA config object (adapter_config.json's, or one model's part of the metadata). */
export function parsePeftConfig(json: unknown, source: string): PeftLoraConfig {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw bad(source, 'not a JSON object');
  const c = json as Record<string, unknown>;
  if (c.peft_type !== undefined && c.peft_type !== 'LORA')
    throw bad(source, `peft_type "${String(c.peft_type)}" is not LoRA`);
  if (c.use_dora === true)
    throw bad(source, 'DoRA adapters (use_dora) are not supported; merge them to LoRA first');
  const r = positive(c.r ?? 8, 'r', source, true);
  return {
    source,
    r,
    loraAlpha: positive(c.lora_alpha ?? 8, 'lora_alpha', source, false),
    rankPattern: patterns(c.rank_pattern, 'rank_pattern', source, true),
    alphaPattern: patterns(c.alpha_pattern, 'alpha_pattern', source, false),
    useRslora: c.use_rslora === true,
  };
}

/**
 * The per-model configs in a safetensors file's `lora_adapter_metadata` (diffusers), by component;
 * empty when the file has none.
 */
export function peftConfigsFromMetadata(
  metadata: Record<string, string>,
  source: string,
): Map<LoraComponent, PeftLoraConfig> {
  const out = new Map<LoraComponent, PeftLoraConfig>();
  const text = metadata.lora_adapter_metadata;
  if (text === undefined) return out;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw bad(`${source} metadata`, 'lora_adapter_metadata is not valid JSON');
  }
  for (const component of ['unet', 'text_encoder', 'text_encoder_2'] as const) {
    const prefix = `${component}.`;
    const part = Object.fromEntries(
      Object.entries(json ?? {})
        .filter(([k]) => k.startsWith(prefix))
        .map(([k, v]) => [k.slice(prefix.length), v]),
    );
    if (Object.keys(part).length)
      out.set(component, parsePeftConfig(part, `${source} metadata (${component})`));
  }
  return out;
}

/** adapter_config.json next to a LoRA file, when there is one. */
export async function readAdapterConfig(loraFile: string): Promise<PeftLoraConfig | undefined> {
  const file = path.join(path.dirname(loraFile), ADAPTER_CONFIG_FILE);
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw bad(file, `not valid JSON (${(e as Error).message})`);
  }
  return parsePeftConfig(json, file);
}

/**
 * The rank PEFT gave a layer and the alpha to merge it with (scale = alpha / rank; use_rslora's
 * lora_alpha / sqrt(r) is expressed as alpha = lora_alpha · sqrt(r)).
 */
export function peftRankAlpha(cfg: PeftLoraConfig, modulePath: string): { rank: number; alpha: number } {
  const rank = cfg.rankPattern.find(([re]) => re.test(modulePath))?.[2] ?? cfg.r;
  const alpha = cfg.alphaPattern.find(([re]) => re.test(modulePath))?.[2] ?? cfg.loraAlpha;
  return { rank, alpha: cfg.useRslora ? alpha * Math.sqrt(rank) : alpha };
}
