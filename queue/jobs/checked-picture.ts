/**
 * The last steps of a job that makes one picture: the output safety check (core/safety), then the
 * picture stored as the user's PNG. Shared by template, group-photo and the basic try-on.
 */
import type { RgbImage } from '../../core/image/codec.ts';
import type { ProcessorContext } from './define.ts';

/** Check and store `image`; progress goes from `at` (safety) to 100. */
export async function storeCheckedPicture(
  ctx: ProcessorContext<{ user: string }>,
  image: RgbImage,
  job: string,
  at: number,
): Promise<{ ref: string; flagged?: number[] }> {
  const { encodePng } = await import('../../core/image/codec.ts');
  const { flaggedPictures } = await import('../../core/safety/classifier.ts');
  ctx.progress('safety', at);
  const flagged = await flaggedPictures([image], job);
  ctx.progress('store', Math.round((at + 100) / 2));
  const stored = await ctx.artifacts.put(ctx.data.user, await encodePng(image), { ext: 'png' });
  ctx.progress('done', 100);
  return { ref: stored.ref, ...(flagged.length ? { flagged } : {}) };
}
