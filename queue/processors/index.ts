/**
 * The processors this deployment runs, by job name. Heavy ones run in worker threads (named by
 * module URL + export); jobs with no pipeline here answer "not available". A GPU machine's
 * worker passes its own table (see docs/jobs.md).
 */

import { log } from '../../base/log.ts';
import { config } from '../../core/config.ts';
import type { ProcessorSpec, Processors } from '../processor.ts';
import { generateProblem } from './generate-models.ts';
import { notAvailable } from './not-available.ts';

/** Real LoRA training when a trainer command is configured; otherwise "not available". */
export function trainLoraProcessor(command = config().FACECHAIN_TRAINER_CMD): ProcessorSpec {
  if (command)
    return {
      kind: 'thread',
      module: new URL('./train-lora.ts', import.meta.url).href,
      exportName: 'trainLoraJob',
    };
  return { kind: 'inline', run: notAvailable('train-lora'), unavailable: true };
}

/** Real generation when the SD 1.5 model folder is complete; otherwise "not available" (the reason is logged). */
export function generateProcessor(modelDir?: string): ProcessorSpec {
  const problem = generateProblem(modelDir);
  if (problem === undefined)
    return {
      kind: 'thread',
      module: new URL('./generate.ts', import.meta.url).href,
      exportName: 'generateJob',
    };
  log('queue').info({ problem }, 'portrait generation not available on this worker');
  return { kind: 'inline', run: notAvailable('generate'), unavailable: true };
}

export function defaultProcessors(): Processors {
  return {
    analyze: {
      kind: 'thread',
      module: new URL('./analyze.ts', import.meta.url).href,
      exportName: 'analyzeJob',
    },
    'prepare-identity': {
      kind: 'thread',
      module: new URL('./prepare-identity.ts', import.meta.url).href,
      exportName: 'prepareIdentityJob',
    },
    template: {
      kind: 'thread',
      module: new URL('./template.ts', import.meta.url).href,
      exportName: 'templateJob',
    },
    'group-photo': {
      kind: 'thread',
      module: new URL('./group-photo.ts', import.meta.url).href,
      exportName: 'groupPhotoJob',
    },
    'train-lora': trainLoraProcessor(),
    generate: generateProcessor(),
    'try-on': { kind: 'inline', run: notAvailable('try-on'), unavailable: true },
    talk: { kind: 'inline', run: notAvailable('talk'), unavailable: true },
  };
}
