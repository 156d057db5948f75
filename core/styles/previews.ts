/**
 * Preview pictures for style packs, made with the engine on a host that has the generation
 * weights (`facechain styles previews`): one picture per pack from its own prompt, LoRAs and
 * sampler, for a generic person (no user's face is involved), written into the pack folder as
 * preview.jpg and named in its style.json, so the chat galleries show it. A pack without one keeps
 * working; the galleries say it has no preview yet.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NotAvailableError } from '../../base/errors.ts';
import { config } from '../config.ts';
import { SdPipeline } from '../diffusion/index.ts';
import { SdModelFolder } from '../diffusion/model-folder.ts';
import { encodeJpeg } from '../image/codec.ts';
import { LoraLibrary } from '../lora/library.ts';
import { mergedFolders } from '../lora/user-models.ts';
import { modelDirFor } from '../portrait/models.ts';
import type { StylePack } from './pack.ts';
import { planGeneration, planOptions } from './plan.ts';

export const PREVIEW_FILE = 'preview.jpg';

export interface PreviewOptions {
  /** SD 1.5 model folder (default: the pack's base, as generation picks it). */
  modelDir?: string;
  seed?: number;
  person?: 'female' | 'male';
  signal?: AbortSignal;
}

/** One preview picture of `pack` as JPEG bytes. */
export async function renderStylePreview(pack: StylePack, o: PreviewOptions = {}): Promise<Uint8Array> {
  const c = config();
  let dir = o.modelDir ?? modelDirFor(pack.base);
  const problem = SdModelFolder.problem(dir);
  if (problem)
    throw new NotAvailableError(
      'Style previews',
      `They are made with the generation model, which is not installed here (${problem}). Run this on a GPU host with the SD 1.5 export (docs/generation.md), or pass --model.`,
    );
  const plan = await planGeneration({ kind: 'fact', gender: o.person ?? 'female', ageBand: 'adult' }, pack, {
    library: new LoraLibrary(c.FACECHAIN_MAX_LORA_BYTES * 4, {
      maxBytes: c.FACECHAIN_MAX_LORA_BYTES,
      maxRank: c.FACECHAIN_MAX_LORA_RANK,
    }),
    defaultAdapterScale: c.FACECHAIN_FACT_ADAPTER_SCALE,
  });
  if (plan.loras.length > 0) dir = (await mergedFolders().get(dir, plan.loras)).dir;
  const pipe = SdPipeline.open(dir);
  try {
    const out = await pipe.generate(
      {
        ...planOptions(plan),
        width: plan.sampler.width,
        height: plan.sampler.height,
        seed: o.seed ?? 42,
        count: 1,
      },
      { ...(o.signal ? { signal: o.signal } : {}) },
    );
    return encodeJpeg(out.images[0].rgb, { quality: 88 });
  } finally {
    await pipe.close();
  }
}

/** Write the preview into the pack folder and name it in style.json (other fields kept as they are). */
export async function storeStylePreview(pack: StylePack, jpeg: Uint8Array): Promise<string> {
  const file = path.join(pack.dir, PREVIEW_FILE);
  await writeFile(`${file}.part`, jpeg);
  await rename(`${file}.part`, file);
  const json = path.join(pack.dir, 'style.json');
  const spec = JSON.parse(await readFile(json, 'utf8')) as Record<string, unknown>;
  if (spec.preview !== PREVIEW_FILE) {
    spec.preview = PREVIEW_FILE;
    await writeFile(`${json}.part`, `${JSON.stringify(spec, null, 2)}\n`);
    await rename(`${json}.part`, json);
  }
  return file;
}
