/**
 * Loads style packs from folders at start-up and validates everything a request would need: the
 * JSON against the schema, the id against the folder name, the base model, the preview image and
 * every LoRA file's safetensors header. Broken packs are left out and reported (`problems`), so a
 * user never picks a style that fails at request time.
 */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../base/errors.ts';
import { log } from '../../base/log.ts';
import { parseLoraKey } from '../lora/keys.ts';
import { readSafetensorsHeader } from '../lora/safetensors.ts';
import { type StylePack, stylePackSchema } from './pack.ts';

/** The starter packs shipped with the project. */
export const BUILTIN_STYLES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'packs');

export interface StyleProblem {
  /** Folder name of the pack. */
  pack: string;
  dir: string;
  code: string;
  message: string;
}

export interface LoadStylesOptions {
  /** Folders holding one sub-folder per pack; later folders cannot redefine an earlier id. */
  dirs: string[];
  /** Base model ids this deployment knows; packs for other bases are reported. Omit to skip. */
  knownBases?: ReadonlySet<string>;
  /** Model ids from the manifests, for LoRAs referenced by model id. Omit to skip. */
  knownModels?: ReadonlySet<string>;
  maxLoraBytes: number;
}

/** A view for chat commands (`styles`): id, localized name and description, preview path. */
export interface StyleListing {
  id: string;
  name: string;
  description?: string;
  base: string;
  preview?: { path: string };
}

export class StyleCatalog {
  constructor(
    readonly packs: ReadonlyMap<string, StylePack>,
    readonly problems: readonly StyleProblem[],
  ) {}

  get(id: string): StylePack {
    const p = this.packs.get(id);
    if (!p) {
      const broken = this.problems.find((x) => x.pack === id);
      throw new InputError(
        'unknown_style',
        broken
          ? `Style "${id}" is installed but broken: ${broken.message}`
          : `There is no style "${id}". Available styles: ${[...this.packs.keys()].join(', ') || 'none'}.`,
        { context: { style: id } },
      );
    }
    return p;
  }

  list(locale = 'en'): StyleListing[] {
    const zh = locale.toLowerCase().startsWith('zh');
    return [...this.packs.values()]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((p) => ({
        id: p.id,
        name: zh && p.name.zh ? p.name.zh : p.name.en,
        ...(p.description
          ? { description: zh && p.description.zh ? p.description.zh : p.description.en }
          : {}),
        base: p.base,
        ...(p.previewPath ? { preview: { path: p.previewPath } } : {}),
      }));
  }
}

const IMAGE_MAGIC: [string, number[]][] = [
  ['jpeg', [0xff, 0xd8, 0xff]],
  ['png', [0x89, 0x50, 0x4e, 0x47]],
  ['webp', [0x52, 0x49, 0x46, 0x46]],
];

async function imageKind(file: string): Promise<string | undefined> {
  const fh = await open(file, 'r');
  try {
    const b = new Uint8Array(4);
    await fh.read(b, 0, 4, 0);
    return IMAGE_MAGIC.find(([, m]) => m.every((v, i) => b[i] === v))?.[0];
  } finally {
    await fh.close();
  }
}

async function isFile(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isFile() ?? false;
}

/** Validate one pack folder; returns the pack or the first problem found. */
export async function loadStylePack(
  dir: string,
  opts: Omit<LoadStylesOptions, 'dirs'>,
): Promise<{ pack: StylePack } | { problem: StyleProblem }> {
  const name = path.basename(dir);
  const problem = (code: string, message: string) => ({ problem: { pack: name, dir, code, message } });
  const file = path.join(dir, 'style.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    return problem(
      'style_json',
      missing ? `${file} is missing` : `${file} is not valid JSON: ${(e as Error).message}`,
    );
  }
  const parsed = stylePackSchema.safeParse(raw);
  if (!parsed.success)
    return problem(
      'style_schema',
      `${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  const spec = parsed.data;
  if (spec.id !== name) return problem('style_id', `${file} has id "${spec.id}" but its folder is "${name}"`);
  if (opts.knownBases && !opts.knownBases.has(spec.base))
    return problem(
      'style_base',
      `base model "${spec.base}" is not installed (known: ${[...opts.knownBases].join(', ') || 'none'})`,
    );
  let previewPath: string | null = null;
  if (spec.preview) {
    previewPath = path.join(dir, spec.preview);
    if (!(await isFile(previewPath))) return problem('style_preview', `preview ${previewPath} is missing`);
    if (!(await imageKind(previewPath)))
      return problem('style_preview', `preview ${previewPath} is not a JPEG, PNG or WebP image`);
  }
  const loraPaths: StylePack['loraPaths'] = [];
  for (const ref of spec.loras) {
    if ('model' in ref) {
      if (opts.knownModels && !opts.knownModels.has(ref.model))
        return problem('style_lora', `LoRA model "${ref.model}" has no manifest in models/manifests`);
      loraPaths.push({ model: ref.model, multiplier: ref.multiplier });
      continue;
    }
    const p = path.join(dir, ref.file);
    try {
      const h = await readSafetensorsHeader(p, opts.maxLoraBytes);
      if (![...h.tensors.keys()].some((k) => parseLoraKey(k)))
        return problem(
          'style_lora',
          `${p} holds no LoRA weights (no lora_down/lora_up or lora_A/lora_B keys)`,
        );
    } catch (e) {
      return problem('style_lora', (e as Error).message);
    }
    loraPaths.push({ path: p, multiplier: ref.multiplier });
  }
  return { pack: { ...spec, dir, previewPath, loraPaths } };
}

/** Load every pack under the given folders. Never throws for a broken pack: it is reported instead. */
export async function loadStyleCatalog(opts: LoadStylesOptions): Promise<StyleCatalog> {
  const packs = new Map<string, StylePack>();
  const problems: StyleProblem[] = [];
  for (const root of opts.dirs) {
    const entries = await readdir(root, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') problems.push({ pack: '*', dir: root, code: 'style_dir', message: e.message });
      return [];
    });
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue;
      const dir = path.join(root, e.name);
      const r = await loadStylePack(dir, opts);
      if ('problem' in r) {
        problems.push(r.problem);
        continue;
      }
      if (packs.has(r.pack.id)) {
        problems.push({
          pack: e.name,
          dir,
          code: 'style_duplicate',
          message: `style id "${r.pack.id}" is already defined in ${packs.get(r.pack.id)!.dir}`,
        });
        continue;
      }
      packs.set(r.pack.id, r.pack);
    }
  }
  for (const p of problems)
    log('styles').warn({ pack: p.pack, code: p.code }, `style pack skipped: ${p.message}`);
  return new StyleCatalog(packs, problems);
}
