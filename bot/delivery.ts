/**
 * What every front-end does with a delivered job result before rendering it: portraits and
 * try-ons get the result buttons (reroll, more like this, animate, try on, delete) in the
 * user's language; reports and errors are shown as they are.
 */
import { localeFor, translator } from '../commands/dispatch.ts';
import { resultButtons } from '../commands/portrait.ts';
import type { Services } from '../commands/services.ts';
import type { Platform } from '../commands/types.ts';
import type { Reply, ReplyTarget } from '../queue/reply.ts';
import { fromDelivery, type Outgoing } from './adapter.ts';

/** Jobs whose images are results a user can act on. */
export const RESULT_JOBS = new Set(['generate', 'try-on']);

export function addResultButtons(
  out: Outgoing,
  jobName: string | undefined,
  requestId: string,
  t: Parameters<typeof resultButtons>[0],
): Outgoing {
  if (out.isError || out.buttons?.length || out.images.length === 0 || !jobName || !RESULT_JOBS.has(jobName))
    return out;
  return { ...out, buttons: resultButtons(t, requestId) };
}

export async function deliveryOutgoing(
  services: Services,
  target: ReplyTarget,
  reply: Reply,
  requestId: string,
): Promise<Outgoing> {
  const out = fromDelivery(reply);
  if (out.isError || out.images.length === 0) return out;
  const job = await services.jobs.status(requestId).catch(() => undefined);
  if (!job || !RESULT_JOBS.has(job.name)) return out;
  const user = { platform: target.platform as Platform, id: target.userId };
  const t = translator(await localeFor(services, { user }));
  return addResultButtons(out, job.name, requestId, t);
}
