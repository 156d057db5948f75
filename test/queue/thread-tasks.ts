/** Processors for thread-pool tests (loaded inside worker threads). */
import type { ProcessorContext } from '../../queue/jobs/define.ts';

/** Busy for `ms` without ever looking at its signal (a stage that cannot be interrupted). */
export async function spin(ctx: ProcessorContext): Promise<unknown> {
  const end = Date.now() + Number((ctx.data as { ms?: number }).ms ?? 60_000);
  while (Date.now() < end) {
    /* burn CPU */
  }
  return { spun: true };
}

export async function crash(): Promise<unknown> {
  process.exit(3); // in a worker thread this ends the thread only
}

export async function echo(ctx: ProcessorContext): Promise<unknown> {
  ctx.progress('echo', 50);
  return { jobId: ctx.jobId, data: ctx.data };
}
