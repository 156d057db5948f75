/**
 * The processors this deployment runs, by job name. Heavy ones run in worker threads (named by
 * module URL + export); jobs with no pipeline here answer "not available". A GPU machine's
 * worker passes its own table (see docs/jobs.md).
 */
import type { Processors } from '../processor.ts';
import { notAvailable } from './not-available.ts';

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
    'train-lora': { kind: 'inline', run: notAvailable('train-lora'), unavailable: true },
    generate: { kind: 'inline', run: notAvailable('generate'), unavailable: true },
    'try-on': { kind: 'inline', run: notAvailable('try-on'), unavailable: true },
    talk: { kind: 'inline', run: notAvailable('talk'), unavailable: true },
  };
}
