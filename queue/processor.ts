/**
 * What a job processor is given and returns. Processors are plain async functions of a context;
 * the worker wrapper (queue/worker.ts) handles Redis, retries, limits, cancellation and delivery.
 * Heavy processors name a module and export instead, and run in a worker thread
 * (queue/thread-pool.ts) so inference never blocks the event loop that renews BullMQ locks.
 */
import type { ArtifactStore } from '../core/storage/artifacts.ts';
import type { JobData, JobName, JobResult } from './jobs.ts';
import type { Identity } from './records.ts';

export interface ProcessorContext<N extends JobName = JobName> {
  jobId: string;
  requestId: string;
  name: N;
  data: JobData<N>;
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborted when the user cancels or is forgotten; check it between stages. */
  signal: AbortSignal;
  progress(stage: string, percent: number): void;
  artifacts: ArtifactStore;
  /** Results of the earlier steps of a flow, by job name. */
  previous: Record<string, unknown>;
  /** The user's identity record named by data.identityId (read on the main thread; threads have no Redis). */
  identity?: Identity;
}

export type ProcessorFn<N extends JobName = JobName> = (ctx: ProcessorContext<N>) => Promise<JobResult<N>>;

export type ProcessorSpec = (
  | { kind: 'inline'; run: ProcessorFn }
  /** `module` is a file URL; its `exportName` is a ProcessorFn, run in a worker thread. */
  | { kind: 'thread'; module: string; exportName: string }
) & {
  /** Set on "not available" processors: the worker does not advertise the job as runnable. */
  unavailable?: true;
};

export type Processors = Partial<Record<JobName, ProcessorSpec>>;
