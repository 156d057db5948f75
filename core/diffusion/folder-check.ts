/**
 * Whether a folder is a complete diffusers ONNX export, by its files alone: what a worker asks at
 * start-up to decide whether it runs generation. Nothing heavy is loaded (no ONNX Runtime).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { config } from '../config.ts';
import { tokenizerProblem } from './tokenizer-files.ts';

export const REQUIRED_FILES = [
  'model_index.json',
  'text_encoder/model.onnx',
  'unet/model.onnx',
  'vae_decoder/model.onnx',
  'scheduler/scheduler_config.json',
] as const;

/** The first missing required file (the tokenizer in either of its layouts), or undefined. */
export function missingFile(dir: string): string | undefined {
  const file = REQUIRED_FILES.find((f) => !existsSync(path.join(dir, f)));
  if (file) return file;
  return existsSync(dir) ? tokenizerProblem(path.join(dir, 'tokenizer')) : undefined;
}

/** Why `dir` cannot be opened as a model folder, or undefined when it is complete. */
export function folderProblem(dir: string): string | undefined {
  if (!existsSync(dir)) return `${dir} does not exist`;
  const missing = missingFile(dir);
  return missing ? `${dir} is missing ${missing}` : undefined;
}

/** The configured SD 1.5 export (FACECHAIN_SD_MODEL_DIR, else <models>/sd15-film). */
export function defaultModelDir(): string {
  const c = config();
  return path.resolve(c.FACECHAIN_SD_MODEL_DIR ?? path.join(c.modelsDir, 'sd15-film'));
}
