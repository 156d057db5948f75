/**
 * Style LoRAs uploaded by users: validated as SD 1.5 LoRAs, stored per user, usable only by their
 * owner. Files live under <root>/<hash of the user key>/<style id>.safetensors with a small JSON
 * record beside them; the user key never appears in a path (it may contain a platform id) and a
 * lookup by another user finds nothing, exactly like a style that does not exist.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../base/errors.ts';
import { config } from '../config.ts';
import { loraFromSafetensors } from './lora.ts';
import { matchLoras } from './match.ts';
import { parseSafetensors } from './safetensors.ts';
import { sd15TextEncoderLayers, sd15UnetLayers } from './sd15.ts';

export interface UserStyle {
  id: string;
  name: string;
  multiplier: number;
  /** Extra prompt text for this style. */
  prompt: string;
  rank: number;
  layers: { unet: number; textEncoder: number };
  /** Layer names that match no SD 1.5 layer (kept, reported, ignored at merge time). */
  unmatched: string[];
  bytes: number;
  createdAt: string;
}

export interface UserStyleLimits {
  maxBytes: number;
  maxPerUser: number;
  maxRank: number;
}

const UNET = sd15UnetLayers('transformer');
const TEXT = sd15TextEncoderLayers();

export class UserStyleStore {
  constructor(
    readonly root: string,
    readonly limits: UserStyleLimits,
  ) {}

  private dir(userKey: string): string {
    if (!userKey) throw new Error('user key required');
    return path.join(this.root, createHash('sha256').update(userKey).digest('hex').slice(0, 32));
  }

  /**
   * Check an uploaded file as an SD 1.5 style LoRA: size, safetensors structure, LoRA layers,
   * rank, and shapes against SD 1.5's layers. Returns what would be stored.
   */
  validate(
    bytes: Uint8Array,
    name: string,
  ): Omit<UserStyle, 'id' | 'name' | 'multiplier' | 'prompt' | 'createdAt'> {
    if (bytes.byteLength > this.limits.maxBytes)
      throw new InputError(
        'lora_too_large',
        `The LoRA file is ${(bytes.byteLength / 1048576).toFixed(1)} MB; the limit is ${(this.limits.maxBytes / 1048576).toFixed(0)} MB.`,
      );
    const lora = loraFromSafetensors(parseSafetensors(bytes, 'The uploaded file'), name, {
      maxRank: this.limits.maxRank,
    });
    if (lora.modules.some((m) => m.component === 'text_encoder_2'))
      throw new InputError(
        'lora_wrong_base',
        'This LoRA has layers for a second text encoder, so it was made for SDXL. Upload an SD 1.5 LoRA.',
      );
    // Shape mismatches throw (LoRA for another base); unknown layer names are reported.
    const u = matchLoras(UNET, 'unet', [{ lora, multiplier: 1 }]);
    const t = matchLoras(TEXT, 'text_encoder', [{ lora, multiplier: 1 }]);
    if (u.matched.length + t.matched.length === 0)
      throw new InputError(
        'lora_wrong_base',
        `None of the ${lora.modules.length} layers of this LoRA is an SD 1.5 layer (first: ${lora.modules[0]!.module}). Upload an SD 1.5 LoRA in kohya or diffusers format.`,
      );
    return {
      rank: Math.max(...lora.modules.map((m) => m.rank)),
      layers: { unet: u.matched.length, textEncoder: t.matched.length },
      unmatched: [...u.unmatched, ...t.unmatched].map((s) => s.slice(name.length + 2)),
      bytes: bytes.byteLength,
    };
  }

  /** Validate and store an upload for `userKey`. */
  async add(
    userKey: string,
    bytes: Uint8Array,
    meta: { name: string; multiplier?: number; prompt?: string },
  ): Promise<UserStyle> {
    const name = meta.name.trim().slice(0, 60) || 'my style';
    const multiplier = meta.multiplier ?? 0.8; // FaceChain's default for user-trained styles
    if (!(multiplier >= 0 && multiplier <= 2))
      throw new InputError('bad_multiplier', `Style strength ${multiplier} is out of range; use 0–2.`);
    const existing = await this.list(userKey);
    if (existing.length >= this.limits.maxPerUser)
      throw new InputError(
        'too_many_styles',
        `You already have ${existing.length} uploaded styles (the limit). Delete one before uploading another.`,
      );
    const checked = this.validate(bytes, name);
    const style: UserStyle = {
      id: `u-${randomBytes(6).toString('hex')}`,
      name,
      multiplier,
      prompt: (meta.prompt ?? '').slice(0, 500),
      ...checked,
      createdAt: new Date().toISOString(),
    };
    const dir = this.dir(userKey);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${style.id}.safetensors`);
    await writeFile(`${file}.part`, bytes, { mode: 0o600 });
    await rename(`${file}.part`, file);
    await writeFile(path.join(dir, `${style.id}.json`), JSON.stringify(style), { mode: 0o600 });
    return style;
  }

  async list(userKey: string): Promise<UserStyle[]> {
    const dir = this.dir(userKey);
    const names = await readdir(dir).catch(() => [] as string[]);
    const out: UserStyle[] = [];
    for (const n of names.filter((x) => x.endsWith('.json')).sort())
      out.push(JSON.parse(await readFile(path.join(dir, n), 'utf8')) as UserStyle);
    return out;
  }

  /** The owner's style and its file path; another user's id is "not found", like a missing one. */
  async get(userKey: string, id: string): Promise<{ style: UserStyle; file: string }> {
    const notFound = new InputError('unknown_user_style', `You have no uploaded style "${id}".`);
    if (!/^u-[0-9a-f]{12}$/.test(id)) throw notFound;
    const dir = this.dir(userKey);
    try {
      const style = JSON.parse(await readFile(path.join(dir, `${id}.json`), 'utf8')) as UserStyle;
      return { style, file: path.join(dir, `${id}.safetensors`) };
    } catch {
      throw notFound;
    }
  }

  async remove(userKey: string, id: string): Promise<void> {
    const { file } = await this.get(userKey, id);
    await rm(file, { force: true });
    await rm(file.replace(/\.safetensors$/, '.json'), { force: true });
  }

  /** Delete every uploaded style of a user (the forget flow). Returns how many were removed. */
  async forget(userKey: string): Promise<number> {
    const n = (await this.list(userKey)).length;
    await rm(this.dir(userKey), { recursive: true, force: true });
    return n;
  }
}

/** The deployment's store: <data dir>/user-styles, limits from the configuration. The erasure flow must call forget(). */
export function userStyleStore(): UserStyleStore {
  const c = config();
  return new UserStyleStore(path.join(c.dataDir, 'user-styles'), {
    maxBytes: c.FACECHAIN_MAX_LORA_BYTES,
    maxPerUser: c.FACECHAIN_USER_STYLES_MAX,
    maxRank: c.FACECHAIN_MAX_LORA_RANK,
  });
}

/** What the generation plan needs of an uploaded style, looked up under its owner only. */
export async function planUserStyle(
  store: UserStyleStore,
  userKey: string,
  id: string,
): Promise<{ id: string; file: string; multiplier: number; prompt: string }> {
  const { style, file } = await store.get(userKey, id);
  return { id: style.id, file, multiplier: style.multiplier, prompt: style.prompt };
}
