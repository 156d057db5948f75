/**
 * Jobs whose pipeline is not installed on this deployment fail at once with NotAvailableError
 * (delivered to the user as such), never with a fake result.
 */
import { NotAvailableError } from '../../base/errors.ts';
import type { JobName } from '../jobs.ts';
import type { ProcessorFn } from '../processor.ts';

const FEATURE: Partial<Record<JobName, [feature: string, how: string]>> = {
  'train-lora': [
    'Face-model (LoRA) training',
    'It needs a GPU worker with a LoRA trainer configured (FACECHAIN_TRAINER_CMD; see docs/pipelines.md).',
  ],
  generate: [
    'Portrait generation',
    'It needs a worker with a Stable Diffusion 1.5 ONNX export installed (FACECHAIN_SD_MODEL_DIR; see docs/generation.md).',
  ],
  'try-on': ['Virtual try-on', 'It needs a GPU worker with the inpainting models installed (docs/jobs.md).'],
  talk: ['Talking portraits', 'It needs a GPU worker with the talking-head models installed (docs/jobs.md).'],
};

/** `how` overrides the default hint (e.g. what exactly is missing on this worker). */
export function notAvailable(name: JobName, hint?: string): ProcessorFn {
  const [feature, fallback] = FEATURE[name] ?? [name, 'No worker on this deployment runs it.'];
  const how = hint ?? fallback;
  return async () => {
    throw new NotAvailableError(feature, how, { job: name });
  };
}
