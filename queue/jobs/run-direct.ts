/**
 * Run one job's processor in this process, straight from its declaration: the data is checked
 * by the job's schema, the processor is the one the job table picks on this machine (or a clear
 * "not available"), and the result is checked by the job's result schema. No Redis, no queue,
 * no delivery: for operators trying a pipeline (`facechain jobs run`) and for benches.
 */
import { NotAvailableError } from '../../base/errors.ts';
import type { ArtifactStore } from '../../core/storage/artifacts.ts';
import type { ProcessorContext, ProcessorFn } from './define.ts';
import { describeIssues, type JobName, type JobResult, jobSpec, parseJobData } from './index.ts';

export interface DirectRun {
  artifacts: ArtifactStore;
  signal?: AbortSignal;
  progress?: (stage: string, percent: number) => void;
  /** Results of earlier flow steps, by job name (a flow's later step run alone). */
  previous?: Record<string, unknown>;
}

export async function runJobDirectly<N extends JobName>(
  name: N,
  data: unknown,
  o: DirectRun,
): Promise<JobResult<N>> {
  const def = jobSpec(name);
  const parsed = parseJobData(name, data);
  const spec = await def.processor();
  if (spec.kind === 'not-installed')
    throw new NotAvailableError(def.feature.name, def.feature.howToEnable, { job: name });
  const run: ProcessorFn<never> =
    spec.kind === 'inline'
      ? spec.run
      : ((await import(spec.module)) as Record<string, ProcessorFn<never>>)[spec.exportName];
  const id = `direct-${Date.now().toString(36)}`;
  const ctx: ProcessorContext<unknown> = {
    jobId: id,
    requestId: id,
    name,
    data: parsed,
    attempt: 1,
    signal: o.signal ?? new AbortController().signal,
    progress: o.progress ?? (() => {}),
    artifacts: o.artifacts,
    previous: o.previous ?? {},
  };
  const result = def.result.safeParse(await run(ctx as ProcessorContext<never>));
  if (!result.success)
    throw new Error(
      `processor for ${name} returned an invalid result: ${describeIssues(result.error, 'result')}`,
    );
  return result.data as JobResult<N>;
}
