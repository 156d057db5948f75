/**
 * What every front-end does with a delivered job result before rendering it: the reply is put
 * into the user's language (its message lines, or its error by code), and results of jobs that
 * declare them (queue/jobs/, `resultButtons`) get the result buttons (reroll, more like this,
 * animate, try on, delete).
 */

import { type Locale, renderParts, resolveLocale } from '../base/i18n/index.ts';
import { errorText } from '../base/i18n/job-error.ts';
import { translator } from '../commands/kit/dispatch.ts';
import type { Services } from '../commands/kit/services.ts';
import type { Platform } from '../commands/kit/types.ts';
import { resultButtons } from '../commands/portrait.ts';
import { isJobName, jobSpec } from '../queue/jobs/index.ts';
import type { DeliveryContext, Reply, ReplyTarget } from '../queue/reply.ts';
import { fromDelivery, type Outgoing } from './adapter.ts';

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

/** Results a user can act on (the job declares it) get the result buttons. */
export function addResultButtons(
  out: Outgoing,
  jobName: string | undefined,
  requestId: string,
  t: Parameters<typeof resultButtons>[0],
): Outgoing {
  if (out.isError || out.buttons?.length || out.images.length === 0 || !jobName) return out;
  if (!isJobName(jobName) || !jobSpec(jobName).resultButtons) return out;
  return { ...out, buttons: resultButtons(t, requestId) };
}

/** What a delivered reply looks like to its user: their language, their job's buttons. */
export async function deliveryOutgoing(
  services: Services,
  target: ReplyTarget,
  reply: Reply,
  ctx: Pick<DeliveryContext, 'requestId' | 'job'>,
): Promise<Outgoing> {
  const locale = await deliveryLocale(services, target);
  const out: Outgoing = { ...fromDelivery({ ...reply, text: localizedText(reply, locale) }), locale };
  return addResultButtons(out, ctx.job, ctx.requestId, translator(locale));
}
