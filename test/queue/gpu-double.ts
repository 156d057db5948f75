/** Test double of a GPU pipeline (the outside world here): stages of sleep, honouring the signal. */
import { CancelledError } from '../../base/errors.ts';
import type { JobProcessor as ProcessorFn } from '../../queue/jobs/index.ts';

export function gpuDouble(stages: number, stageMs: number): ProcessorFn {
  return (async (ctx) => {
    for (let i = 0; i < stages; i++) {
      if (ctx.signal.aborted) throw new CancelledError();
      ctx.progress(`step-${i}`, (i / stages) * 100);
      await new Promise((r) => setTimeout(r, stageMs));
    }
    return { images: [], scores: [] };
  }) as ProcessorFn;
}
