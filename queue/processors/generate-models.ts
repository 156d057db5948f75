/**
 * Which generation models this worker has: the SD 1.5 folder for a style's base and whether
 * FaceChain-FACT is installed for it. Light checks (files only) so the processor table can decide
 * at start-up whether `generate` runs here.
 */
import path from 'node:path';
import { config } from '../../core/config.ts';
import { defaultModelDir } from '../../core/diffusion/index.ts';
import { SdModelFolder } from '../../core/diffusion/model-folder.ts';
import { factModelIds } from '../../core/fact/encoder.ts';
import type { ModelStore } from '../../models/store.ts';

/**
 * The model folder for a style pack's base: FACECHAIN_SD_MODEL_DIR when set (one export serves
 * every style), else <models dir>/<base> when it is a complete export, else the default folder.
 */
export function modelDirFor(base: string): string {
  if (config().FACECHAIN_SD_MODEL_DIR) return defaultModelDir();
  const own = path.join(config().modelsDir, base);
  return SdModelFolder.problem(own) === undefined ? own : defaultModelDir();
}

/** Why generation cannot run on this worker, or undefined when the default model folder is complete. */
export function generateProblem(dir?: string): string | undefined {
  return SdModelFolder.problem(dir ?? defaultModelDir());
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
