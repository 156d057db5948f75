/**
 * What every front-end does with a delivered job result before rendering it: the reply is put
 * into the user's language (its message lines, or its error by code), and portraits, try-ons and
 * template results get the result buttons (reroll, more like this, animate, try on, delete).
 */

import { type Locale, renderParts, resolveLocale } from '../base/i18n/index.ts';
import { errorText } from '../base/i18n/job-error.ts';
import { log } from '../base/log.ts';
import { translator } from '../commands/dispatch.ts';
import { resultButtons } from '../commands/portrait.ts';
import type { Services } from '../commands/services.ts';
import type { Platform } from '../commands/types.ts';
import type { Reply, ReplyTarget } from '../queue/reply.ts';
import { fromDelivery, type Outgoing } from './adapter.ts';

const logger = log('delivery');

/** Jobs whose images are results a user can act on. */
export const RESULT_JOBS = new Set(['generate', 'try-on', 'template']);

export { errorText };

/** The reply's text in `locale`; a reply from another version with an unknown key keeps its English text. */
export function localizedText(reply: Reply, locale: Locale): string {
  if (reply.error) return errorText(reply.error, locale);
  if (!reply.message?.length) return reply.text;
  try {
    return renderParts(locale, reply.message).slice(0, 4000);
  } catch {
    return reply.text;
  }
}

/** The profile's language, else the platform's language when the request was made, else English. */
async function deliveryLocale(services: Services, target: ReplyTarget): Promise<Locale> {
  const user = { platform: target.platform as Platform, id: target.userId };
  const profile = await services.profiles.get(user).catch(() => undefined);
  const lang = target.extra?.lang;
  return resolveLocale(profile?.locale, typeof lang === 'string' ? lang : undefined);
}

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
  const locale = await deliveryLocale(services, target);
  const out: Outgoing = { ...fromDelivery({ ...reply, text: localizedText(reply, locale) }), locale };
  if (out.isError || out.images.length === 0) return out;
  const job = await services.jobs.status(requestId).catch(() => undefined);
  if (!job || !RESULT_JOBS.has(job.name)) return out;
  return addResultButtons(out, job.name, requestId, translator(locale));
}

/**
 * After a photo report is delivered: start LoRA training for that identity when a worker runs
 * the trainer (otherwise the identity stays ready for zero-shot use). Runs inside the retried,
 * exactly-once delivery, and the training job's id derives from the request id, so a retried
 * delivery never starts training twice. Never throws: the report is already delivered.
 */
export async function continueRequest(
  services: Services,
  target: ReplyTarget,
  reply: Reply,
  requestId: string,
): Promise<void> {
  if (reply.error) return;
  try {
    const user = { platform: target.platform as Platform, id: target.userId };
    const done = await services.jobs.completed(requestId, user);
    if (done?.name !== 'prepare-identity') return;
    const r = done.result as { identityId?: string; accepted?: unknown[] };
    if (!r.identityId || !r.accepted?.length) return;
    if (!(await services.jobs.available('train-lora'))) return;
    await services.jobs.enqueue({
      name: 'train-lora',
      data: { identityId: r.identityId },
      user,
      idempotencyKey: `${requestId}-lora`,
      replyTarget: { ...target, platform: user.platform },
    });
  } catch (err) {
    logger.warn({ err }, 'could not start LoRA training after the photo report');
  }
}
