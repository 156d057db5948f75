/**
 * The generation engine's public surface for the job layer and front-ends:
 *
 *   const pipe = openPipeline();                 // FACECHAIN_SD_MODEL_DIR or <models>/sd15-film
 *   const r = await pipe.generate({ prompt, negativePrompt, steps: 40, guidanceScale: 7, seed },
 *                                 { signal, onProgress });
 *   r.images[0].png; r.metadata.timings;
 *   await pipe.close();                          // on shutdown: releases the ONNX sessions
 *
 * Long-running processes use sharedPipeline(dir): one pipeline (one set of sessions) per folder,
 * closed together by closeSharedPipelines() at shutdown.
 */
import path from 'node:path';
import { SdPipeline } from './generate.ts';

export { canny } from './canny.ts';
export type {
  ControlSpec,
  GeneratedImage,
  GenerateHooks,
  GenerateOptions,
  GenerateResult,
  InpaintGenerator,
  Progress,
  Timings,
} from './generate.ts';
export { LIMITS, SdPipeline } from './generate.ts';
export { SAMPLERS, type SamplerName } from './schedulers/index.ts';

/** The configured model folder. */
import { defaultModelDir } from './folder-check.ts';

export { defaultModelDir };

/** Open a model folder (default: the configured one) with the configured execution providers. */
export function openPipeline(dir = defaultModelDir(), controlNets: Record<string, string> = {}): SdPipeline {
  return SdPipeline.open(dir, { controlNets });
}

const shared = new Map<string, SdPipeline>();

/** The process-wide pipeline of a model folder (created on first use, sessions kept). */
export function sharedPipeline(dir = defaultModelDir()): SdPipeline {
  const key = path.resolve(dir);
  let p = shared.get(key);
  if (!p) {
    p = openPipeline(key);
    shared.set(key, p);
  }
  return p;
}

/** Close every shared pipeline (call on shutdown; later sharedPipeline() calls open new ones). */
export async function closeSharedPipelines(): Promise<void> {
  const all = [...shared.values()];
  shared.clear();
  for (const p of all) await p.close();
}
