/**
 * How commands start a job: for the invoking user, answering in their chat, once per platform
 * update (the update id is the idempotency key, so a re-sent update starts nothing new).
 */
import type { CommandContext } from './types.ts';

export function enqueueFor(ctx: CommandContext, name: string, data: Record<string, unknown>) {
  const { inv, services } = ctx;
  return services.jobs.enqueue({
    name,
    data,
    user: inv.user,
    idempotencyKey: `${inv.platform}-${inv.id}`,
    replyTarget: inv.replyTarget,
  });
}

/** The GPU variant of a feature where some worker runs it, else the one every CPU worker runs. */
export async function gpuOr(ctx: CommandContext, gpu: string, cpu: string): Promise<string> {
  return (await ctx.services.jobs.available(gpu)) ? gpu : cpu;
}
