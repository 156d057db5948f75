/**
 * Import FaceChain's style JSON files (styles/<base>/<Name>.json):
 *   { "name": "赛博朋克(Cybernetics punk)", "img": "./style_image/x.jpg", "model_id": "owner/repo" | null,
 *     "revision": "v1.0.0", "bin_file": "x.safetensors", "multiplier_style": 0.35,
 *     "multiplier_human": 0.95, "add_prompt_style": "..." }
 * into this project's pack format. LoRA weights are not downloaded: the pack names the file, and
 * `origin` records FaceChain's model id and revision so the operator can fetch it; until the file
 * is placed in the pack folder the catalog reports the pack as broken at start-up.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { InputError } from '../../base/errors.ts';
import {
  DEFAULT_HUMAN_MULTIPLIER,
  DEFAULT_STYLE_MULTIPLIER,
  type StylePackJson,
  stylePackSchema,
} from './pack.ts';

const facechainStyleSchema = z.object({
  name: z.string().min(1),
  img: z.string().nullish(),
  model_id: z.string().nullish(),
  revision: z.string().nullish(),
  bin_file: z.string().nullish(),
  multiplier_style: z.number().nullish(),
  multiplier_human: z.number().nullish(),
  add_prompt_style: z.string().nullish(),
});

/** FaceChain's base folders → this project's base model ids. */
export const FACECHAIN_BASES: Record<string, string> = {
  leosamsMoonfilm_filmGrain20: 'sd15-film',
  MajicmixRealistic_v6: 'sd15-majicmix-realistic-v6',
};

/** "中文(English name)" → {zh, en}; a name without brackets is used for both. */
export function splitName(name: string): { en: string; zh?: string } {
  const m = /^\s*(.*?)\s*[(（](.+)[)）]\s*$/.exec(name);
  if (m?.[1] && m[2]) return { en: m[2].trim(), zh: m[1].trim() };
  return { en: name.trim() };
}

export function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'style'
  );
}

export interface ImportedStyle {
  pack: StylePackJson;
  /** Preview image path relative to FaceChain's repo root (from "img"), when given. */
  previewSource?: string;
  warnings: string[];
}

/** Convert one FaceChain style object. `base` is FaceChain's base folder name or our base id. */
export function convertFacechainStyle(json: unknown, base: string, where = 'style JSON'): ImportedStyle {
  const r = facechainStyleSchema.safeParse(json);
  if (!r.success)
    throw new InputError(
      'bad_facechain_style',
      `${where} is not a FaceChain style: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  const s = r.data;
  const warnings: string[] = [];
  const name = splitName(s.name);
  const baseId = FACECHAIN_BASES[base] ?? base;
  if (!FACECHAIN_BASES[base] && !/^[a-z0-9][a-z0-9-]*$/.test(base))
    throw new InputError('bad_facechain_style', `${where}: unknown FaceChain base "${base}".`);
  const loras: StylePackJson['loras'] = [];
  if (s.bin_file) {
    if (!s.bin_file.endsWith('.safetensors'))
      warnings.push(`${s.bin_file} is not .safetensors; convert it (docs/identity-and-style.md) before use`);
    const file = path.basename(s.bin_file).replace(/\.(bin|pt|ckpt)$/, '.safetensors');
    loras.push({ file, multiplier: s.multiplier_style ?? DEFAULT_STYLE_MULTIPLIER });
    warnings.push(
      `place ${file} (${s.bin_file} from ${s.model_id ?? 'its source'}${s.revision ? ` ${s.revision}` : ''}) in the pack folder`,
    );
  }
  const pack: StylePackJson = {
    id: slug(name.en),
    name,
    base: baseId,
    loras,
    humanMultiplier: s.multiplier_human ?? DEFAULT_HUMAN_MULTIPLIER,
    prompt: s.add_prompt_style ?? '',
    // FaceChain hands its prompts to diffusers as plain text.
    weighting: 'facechain-plain',
    preview: s.img ? `preview${path.extname(s.img).toLowerCase() || '.jpg'}` : null,
    licence: {
      spdx: 'NOASSERTION',
      source: `imported from FaceChain (Apache-2.0 repository; the LoRA's own licence is not stated there)`,
    },
    origin: {
      facechain: {
        name: s.name,
        model_id: s.model_id ?? null,
        revision: s.revision ?? null,
        bin_file: s.bin_file ?? null,
      },
    },
  };
  // Validate now so a bad conversion fails here, not at the next start-up.
  const check = stylePackSchema.safeParse(pack);
  if (!check.success)
    throw new InputError(
      'bad_facechain_style',
      `${where} converts to an invalid pack: ${check.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return { pack, ...(s.img ? { previewSource: s.img } : {}), warnings };
}

/**
 * Write an imported pack into `outDir/<id>/style.json`, copying the preview when `facechainRoot`
 * (FaceChain's checkout) holds it. Returns the pack folder and warnings.
 */
export async function writeImportedStyle(
  imported: ImportedStyle,
  outDir: string,
  facechainRoot?: string,
): Promise<{ dir: string; warnings: string[] }> {
  const dir = path.join(outDir, imported.pack.id);
  await mkdir(dir, { recursive: true });
  const warnings = [...imported.warnings];
  const pack = { ...imported.pack };
  if (imported.previewSource && pack.preview) {
    const src = facechainRoot ? path.resolve(facechainRoot, imported.previewSource) : undefined;
    try {
      if (!src) throw new Error('no FaceChain folder given');
      await copyFile(src, path.join(dir, pack.preview));
    } catch (e) {
      warnings.push(`preview not copied (${(e as Error).message}); the pack is imported without one`);
      pack.preview = null;
    }
  }
  await writeFile(path.join(dir, 'style.json'), `${JSON.stringify(pack, null, 2)}\n`);
  return { dir, warnings };
}
