/**
 * Which generation models this worker has: the SD 1.5 folder for a style's base and whether
 * FaceChain-FACT is installed for it. Light checks (files only) so the processor table can decide
 * at start-up whether `generate` runs here.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import type { ModelStore } from '../../models/store.ts';
import { config } from '../config.ts';
import { defaultModelDir } from '../diffusion/index.ts';
import { SdModelFolder } from '../diffusion/model-folder.ts';
import { factModelIds } from '../fact/encoder.ts';

/** The ControlNet name for pose guidance: the model folder's controlnet-openpose/model.onnx. */
export const POSE_CONTROLNET = 'openpose';

/**
 * The model folder for a style pack's base: FACECHAIN_SD_MODEL_DIR when set (one export serves
 * every style), else <models dir>/<base> when it is a complete export, else the default folder.
 */
export function modelDirFor(base: string): string {
  if (config().FACECHAIN_SD_MODEL_DIR) return defaultModelDir();
  const own = path.join(config().modelsDir, base);
  return SdModelFolder.problem(own) === undefined ? own : defaultModelDir();
}

/** FACT's encoder, projector and UNet for `base` are installed and verified. */
export async function factReady(store: ModelStore, base: string): Promise<boolean> {
  let ids: ReturnType<typeof factModelIds>;
  try {
    ids = factModelIds(base);
  } catch {
    return false; // no FACT adapter for this base
  }
  for (const id of [ids.encoder, ids.projector, ids.unet]) {
    if (!store.manifests.has(id)) return false;
    if ((await store.status(id)).some((f) => f.state !== 'ok')) return false;
  }
  return true;
}

/**
 * A model folder that is `baseDir` with its UNet replaced by FACT's (links only, under
 * <data>/fact-bases/), so style LoRAs merge into the FACT UNet exactly as into a base folder and
 * the pipeline opens it like any export. The FACT UNet's folder holds model.onnx (+ weights.pb).
 */
export async function factBaseFolder(
  baseDir: string,
  factUnetFile: string,
  dataDir = config().dataDir,
): Promise<string> {
  const base = path.resolve(baseDir);
  const unetDir = path.dirname(path.resolve(factUnetFile));
  const id = createHash('sha256').update(`${base}|${unetDir}`).digest('hex').slice(0, 24);
  const dir = path.join(dataDir, 'fact-bases', id);
  if (existsSync(path.join(dir, 'unet'))) return dir;
  const tmp = `${dir}.part-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    for (const e of await readdir(base))
      await symlink(e === 'unet' ? unetDir : path.join(base, e), path.join(tmp, e));
    if (!existsSync(path.join(tmp, 'unet'))) await symlink(unetDir, path.join(tmp, 'unet'));
    await rename(tmp, dir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    if (existsSync(path.join(dir, 'unet'))) return dir; // another worker made it first
    throw e;
  }
  return dir;
}
