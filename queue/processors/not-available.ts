/**
 * Jobs whose pipeline is not installed on this deployment fail at once with NotAvailableError
 * (delivered to the user as such), never with a fake result.
 */
import { NotAvailableError } from '../../core/errors.ts';
import type { JobName } from '../jobs.ts';
import type { ProcessorFn } from '../processor.ts';

const FEATURE: Partial<Record<JobName, [feature: string, how: string]>> = {
  'train-lora': [
    'Face-model (LoRA) training',
    'It needs a GPU worker with the LoRA trainer installed (docs/jobs.md, "GPU workers").',
  ],
  generate: ['Portrait generation', 'It needs a GPU worker with the SD 1.5 models installed (docs/jobs.md).'],
  'try-on': ['Virtual try-on', 'It needs a GPU worker with the inpainting models installed (docs/jobs.md).'],
  talk: ['Talking portraits', 'It needs a GPU worker with the talking-head models installed (docs/jobs.md).'],
};

export function notAvailable(name: JobName): ProcessorFn {
  const [feature, how] = FEATURE[name] ?? [name, 'No worker on this deployment runs it.'];
  return async () => {
    throw new NotAvailableError(feature, how, { job: name });
  };
}
