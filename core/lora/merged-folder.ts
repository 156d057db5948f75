/**
 * Merged copies of a diffusers ONNX model folder on disk: the UNet (and the text encoder when a
 * LoRA has text-encoder layers) with LoRAs merged in, every other file linked to the base folder.
 * The generation pipeline opens the result like any model folder, so LoRAs need no change there.
 *
 * Folders are kept under a cache root keyed by base + LoRAs + multipliers, least recently used
 * removed past a disk budget. A merged face LoRA is derived from a person's photos: `forget`
 * removes every folder that contains a given LoRA (the erasure flow must call it).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ModelError } from '../../base/errors.ts';
import { log } from '../../base/log.ts';
import { OnnxModel } from '../../models/onnx-edit.ts';
import type { LoraComponent } from './keys.ts';
import type { DeltaAdder } from './lowrank.ts';
import type { LoraUse, MatchReport } from './match.ts';
import { mergeLorasIntoModel } from './merge.ts';
import { mergeKey } from './session-cache.ts';

const COMPONENTS: [LoraComponent, string][] = [
  ['unet', 'unet'],
  ['text_encoder', 'text_encoder'],
];
/** Initializers this large go to weights.pb (keeps model.onnx under protobuf's 2 GB limit). */
const EXTERNAL_MIN_BYTES = 1024 * 1024;
const MARKER = 'merged.json';

export interface MergedFolder {
  dir: string;
  /** true when the folder was already there. */
  cached: boolean;
  reports: Partial<Record<LoraComponent, Omit<MatchReport, 'matched'> & { matched: number }>>;
}

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += await dirBytes(p);
    else if (e.isFile()) n += (await stat(p)).size; // links to the base are not counted
  }
  return n;
}

export class MergedFolderCache {
  constructor(
    readonly root: string,
    readonly budgetBytes: number,
    private readonly adder?: DeltaAdder,
  ) {}

  /** The merged folder for `baseDir` + LoRAs, built when absent. */
  async get(baseDir: string, uses: LoraUse[]): Promise<MergedFolder> {
    const base = path.resolve(baseDir);
    const key = mergeKey(base, uses);
    const id = createHash('sha256').update(key).digest('hex').slice(0, 24);
    const dir = path.join(this.root, id);
    const marker = path.join(dir, MARKER);
    if (existsSync(marker)) {
      const now = new Date();
      await utimes(marker, now, now); // LRU clock
      const info = JSON.parse(await readFile(marker, 'utf8')) as { reports: MergedFolder['reports'] };
      return { dir, cached: true, reports: info.reports };
    }
    if (!existsSync(path.join(base, 'unet', 'model.onnx')))
      throw new ModelError('bad_model_folder', `${base} has no unet/model.onnx to merge LoRAs into.`);
    await mkdir(this.root, { recursive: true });
    const tmp = `${dir}.part-${process.pid}-${Date.now()}`;
    const reports: MergedFolder['reports'] = {};
    try {
      await mkdir(tmp, { recursive: true, mode: 0o700 });
      const merged = new Set<string>();
      for (const [component, sub] of COMPONENTS) {
        const file = path.join(base, sub, 'model.onnx');
        if (!uses.some((u) => u.lora.modules.some((m) => m.component === component)) || !existsSync(file))
          continue;
        const model = OnnxModel.fromFile(file);
        const r = await mergeLorasIntoModel(model, component, uses, this.adder);
        await model.save(path.join(tmp, sub), EXTERNAL_MIN_BYTES);
        reports[component] = { ...r, matched: r.matched.length };
        merged.add(sub);
      }
      await linkRest(base, tmp, merged);
      await writeFile(
        path.join(tmp, MARKER),
        JSON.stringify({ base, loras: uses.map((u) => u.lora.name), reports }),
      );
      await rename(tmp, dir);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    await this.evict(dir);
    return { dir, cached: false, reports };
  }

  private async entries(): Promise<{ dir: string; used: number; loras: string[] }[]> {
    const out: { dir: string; used: number; loras: string[] }[] = [];
    for (const e of await readdir(this.root, { withFileTypes: true }).catch(() => [])) {
      const marker = path.join(this.root, e.name, MARKER);
      if (!e.isDirectory() || !existsSync(marker)) continue;
      const info = JSON.parse(await readFile(marker, 'utf8')) as { loras: string[] };
      out.push({ dir: path.join(this.root, e.name), used: (await stat(marker)).mtimeMs, loras: info.loras });
    }
    return out.sort((a, b) => a.used - b.used);
  }

  /** Remove least recently used folders until the cache fits its budget (never `keep`). */
  private async evict(keep: string): Promise<void> {
    const all = await this.entries();
    const sizes = new Map<string, number>();
    let total = 0;
    for (const e of all) {
      const n = await dirBytes(e.dir);
      sizes.set(e.dir, n);
      total += n;
    }
    for (const e of all) {
      if (total <= this.budgetBytes) break;
      if (e.dir === keep) continue;
      await rm(e.dir, { recursive: true, force: true });
      total -= sizes.get(e.dir)!;
      log('lora').info({ freed: sizes.get(e.dir) }, 'merged model folder evicted');
    }
  }

  /** Delete every merged folder containing a LoRA whose name satisfies `match` (e.g. a user's face LoRA). */
  async forget(match: (loraName: string) => boolean): Promise<number> {
    let n = 0;
    for (const e of await this.entries())
      if (e.loras.some(match)) {
        await rm(e.dir, { recursive: true, force: true });
        n++;
      }
    return n;
  }
}

/** Files a merge rewrites in a component folder (the model and its external weights). */
const REWRITTEN = new Set(['model.onnx', 'weights.pb', 'model.onnx_data']);

/** Link every file of `base` into `out`, except the merged components' model files. */
async function linkRest(base: string, out: string, merged: Set<string>): Promise<void> {
  for (const e of await readdir(base, { withFileTypes: true })) {
    if (!merged.has(e.name)) {
      await symlink(path.join(base, e.name), path.join(out, e.name));
      continue;
    }
    for (const f of await readdir(path.join(base, e.name)))
      if (!REWRITTEN.has(f)) await symlink(path.join(base, e.name, f), path.join(out, e.name, f));
  }
}
