/** A processor for the S3 thread test (loaded inside a worker thread): read an artifact, store a copy. */
import type { ProcessorContext } from '../../queue/jobs/define.ts';

export async function reverseCopy(ctx: ProcessorContext): Promise<unknown> {
  const { ref, user } = ctx.data as unknown as { ref: string; user: string };
  const bytes = await ctx.artifacts.read(ref);
  const stored = await ctx.artifacts.put(user, Buffer.from(bytes).reverse(), { ext: 'bin' });
  return { read: bytes.length, stored: stored.ref };
}
