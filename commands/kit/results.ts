/**
 * Features that reuse an earlier result's pictures (animate, group picture, delete) ask for them
 * here, so a result whose files the retention sweep deleted gets the same clear answer
 * everywhere: how long this server keeps files, and what to do instead.
 */

import { InputError } from '../../base/errors.ts';
import { config } from '../../core/config.ts';
import type { CommandContext } from './types.ts';

/** "7 day(s)" or "36 hour(s)": FACECHAIN_KEEP_FILES_HOURS as the user reads it. */
export function keptFor(t: CommandContext['t'], hours = config().FACECHAIN_KEEP_FILES_HOURS): string {
  return hours % 24 === 0 ? t('files.age_days', { n: hours / 24 }) : t('files.age_hours', { n: hours });
}

/**
 * The stored pictures of one of the user's completed results. No such result: `notFound`. All
 * its pictures deleted by the retention sweep: `files_expired`, saying so; deleted otherwise
 * (the delete button): `notFound` too.
 */
export async function storedResult(
  ctx: CommandContext,
  id: string,
  notFound: () => Error,
): Promise<string[]> {
  const r = await ctx.services.jobs.resultFiles(id, ctx.inv.user);
  if (!r) throw notFound();
  if (r.images.length > 0) return r.images;
  if (r.expired > 0)
    throw new InputError('files_expired', ctx.t('files.result_expired', { age: keptFor(ctx.t) }));
  throw notFound();
}
