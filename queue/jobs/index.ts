/**
 * The job table: every job type, one file each (see define.ts). Producer, worker, delivery and
 * the CLI read job types only from here, with data and result types kept end to end.
 */
import type { z } from 'zod';
import { InputError } from '../../base/errors.ts';
import { findUnsafe } from '../payload-guard.ts';
import { analyze } from './analyze.ts';
import type { JobSpec, ProcessorContext } from './define.ts';
import { generate } from './generate.ts';
import { groupPhoto } from './group-photo.ts';
import { prepareIdentity } from './prepare-identity.ts';
import { talk } from './talk.ts';
import { talkGpu } from './talk-gpu.ts';
import { template } from './template.ts';
import { trainLora } from './train-lora.ts';
import { tryOn } from './try-on.ts';
import { tryOnGpu } from './try-on-gpu.ts';
import { upscale } from './upscale.ts';

export const JOBS = {
  analyze,
  'prepare-identity': prepareIdentity,
  template,
  'group-photo': groupPhoto,
  'train-lora': trainLora,
  generate,
  'try-on': tryOn,
  'try-on-gpu': tryOnGpu,
  upscale,
  talk,
  'talk-gpu': talkGpu,
} as const;

export type JobName = keyof typeof JOBS;
export const JOB_NAMES = Object.keys(JOBS) as JobName[];
export type JobData<N extends JobName> = z.infer<(typeof JOBS)[N]['data']>;
export type JobInput<N extends JobName> = z.input<(typeof JOBS)[N]['data']>;
export type JobResult<N extends JobName> = z.infer<(typeof JOBS)[N]['result']>;
/** Any job's declaration, seen through the common interface (data and result as unknown). */
export type AnyJob = JobSpec<string, z.ZodType, z.ZodType>;

export { QUEUES, type QueueName, type WorkQueue } from './define.ts';

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(JOBS, name);
}

export function jobSpec(name: string): AnyJob {
  if (!isJobName(name))
    throw new InputError('unknown_job', `There is no job "${name}". Jobs: ${JOB_NAMES.join(', ')}.`);
  return JOBS[name] as AnyJob;
}

/** Validate job data; refuses bytes, URLs and secrets with the path of the offending field. */
export function parseJobData<N extends JobName>(name: N, data: unknown): JobData<N> {
  assertSafePayload(name, data);
  return readJobData(name, data);
}

/** Refuses bytes, URLs and secrets (queue/payload-guard.ts) in data about to be stored. */
export function assertSafePayload(name: string, data: unknown): void {
  const unsafe = findUnsafe(data);
  if (unsafe) throw new InputError('unsafe_payload', `Job "${name}" refused: ${unsafe}.`);
}

/** "data.field: problem; ..." for the first few issues of a failed parse. */
export function describeIssues(error: z.ZodError, root = 'data'): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${[root, ...i.path].join('.')}: ${i.message}`)
    .join('; ');
}

/**
 * Validate job data read back from Redis (shape, defaults, a producer of another version). Not
 * guarded again: everything is guarded when it is written.
 */
export function readJobData<N extends JobName>(name: N, data: unknown): JobData<N> {
  const parsed = jobSpec(name).data.safeParse(data);
  if (!parsed.success)
    throw new InputError('bad_job_data', `Job "${name}" refused: ${describeIssues(parsed.error)}.`);
  return parsed.data as JobData<N>;
}

/** A processor's context for one job type (data typed by its file). */
export type JobContext<N extends JobName = JobName> = ProcessorContext<JobData<N>>;
/** A processor of one job type, e.g. a test double or a GPU machine's own implementation. */
export type JobProcessor<N extends JobName = JobName> = (ctx: JobContext<N>) => Promise<JobResult<N>>;
