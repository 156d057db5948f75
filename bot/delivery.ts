/**
 * What every front-end does with a delivered job result before rendering it: the reply is put
 * into the user's language (its message lines, or its error by code); result pictures get their
 * likeness to the user's face as captions (best first; the first time a user sees one, a line
 * says what it means), pictures the safety check flagged are marked to be blurred, and results
 * of jobs that declare them (queue/jobs/, `resultButtons`) get the result buttons (reroll, vary,
 * upscale, animate, try on, info, delete) and, for a picture with several faces, a button per
 * other face.
 */

import { type Locale, renderParts, resolveLocale } from '../base/i18n/index.ts';
import { errorText } from '../base/i18n/job-error.ts';
import { button } from '../commands/kit/buttons.ts';
import { translator } from '../commands/kit/dispatch.ts';
import type { Services, UserProfile } from '../commands/kit/services.ts';
import type { Button, Platform } from '../commands/kit/types.ts';
import { RESULT_ACTIONS, type ResultAction, resultButtons } from '../commands/portrait.ts';
import { isJobName, jobSpec } from '../queue/jobs/index.ts';
import type { DeliveryContext, Reply, ReplyTarget } from '../queue/reply.ts';
import { fromDelivery, type Outgoing } from './adapter.ts';

export { errorText };

type T = Parameters<typeof resultButtons>[0];

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

const userOf = (target: ReplyTarget) => ({ platform: target.platform as Platform, id: target.userId });

/** The profile's language, else the platform's language when the request was made, else English. */
function deliveryLocale(profile: UserProfile | undefined, target: ReplyTarget): Locale {
  const lang = target.extra?.lang;
  return resolveLocale(profile?.locale, typeof lang === 'string' ? lang : undefined);
}

/** A likeness score (cosine -1..1) as the percentage users see. */
export const likenessPercent = (score: number): number => Math.max(0, Math.min(100, Math.round(score * 100)));

/** Results a user can act on (the job declares it) get the result buttons. */
export function addResultButtons(
  out: Outgoing,
  jobName: string | undefined,
  requestId: string,
  t: T,
): Outgoing {
  if (out.isError || out.buttons?.length || out.images.length === 0 || !jobName) return out;
  if (!isJobName(jobName)) return out;
  const declared = jobSpec(jobName).resultButtons;
  if (!declared) return out;
  const actions = declared === true ? RESULT_ACTIONS : (declared as readonly ResultAction[]);
  return { ...out, buttons: resultButtons(t, requestId, actions) };
}

/** "Face 1" … "Face n" for the faces not used, to make the same picture with another face. */
function faceButtons(t: T, requestId: string, faces: NonNullable<Reply['faces']>): Button[][] {
  const out: Button[] = [];
  for (let i = 0; i < Math.min(faces.count, 10); i++) {
    if (i === faces.chosen) continue;
    try {
      out.push(button(t('template.face_button', { n: i + 1 }), 'template', 'face', `${requestId}.${i + 1}`));
    } catch {
      return []; // an id too long for a button: the /template face option still works
    }
  }
  const rows: Button[][] = [];
  for (let i = 0; i < out.length; i += 5) rows.push(out.slice(i, i + 5));
  return rows;
}

/** Likeness captions (and the first-time explanation), spoilers, face choices. */
function decorate(out: Outgoing, reply: Reply, t: T, requestId: string, explain: boolean): Outgoing {
  if (out.isError) return out;
  const images = out.images.map((img, i) => {
    const score = reply.likeness?.[i];
    return {
      ...img,
      ...(score !== undefined
        ? { caption: t('result.likeness', { n: i + 1, percent: likenessPercent(score) }) }
        : {}),
      ...(reply.spoilers?.includes(i) ? { spoiler: true } : {}),
    };
  });
  const lines = [out.text];
  if (reply.spoilers?.length) lines.push(t('result.flagged', { count: reply.spoilers.length }));
  if (explain && reply.likeness?.length) lines.push(t('result.likeness_explained'));
  const faces = reply.faces ? faceButtons(t, requestId, reply.faces) : [];
  return {
    ...out,
    text: lines.join('\n'),
    images,
    ...(faces.length ? { buttons: [...(out.buttons ?? []), ...faces] } : {}),
  };
}

/** What a delivered reply looks like to its user: their language, their job's buttons. */
export async function deliveryOutgoing(
  services: Services,
  target: ReplyTarget,
  reply: Reply,
  ctx: Pick<DeliveryContext, 'requestId' | 'job'>,
): Promise<Outgoing> {
  const profile = await services.profiles.get(userOf(target)).catch(() => undefined);
  const locale = deliveryLocale(profile, target);
  const t = translator(locale);
  const base: Outgoing = { ...fromDelivery({ ...reply, text: localizedText(reply, locale) }), locale };
  const withButtons = addResultButtons(base, ctx.job, ctx.requestId, t);
  const explain = profile !== undefined && !profile.likenessExplained;
  return decorate(withButtons, reply, t, ctx.requestId, explain);
}

/** After a delivery showed likeness for the first time: the user has read the explanation. */
export async function noteLikenessShown(
  services: Services,
  target: ReplyTarget,
  reply: Reply,
): Promise<void> {
  if (reply.error || !reply.likeness?.length) return;
  const user = userOf(target);
  const profile = await services.profiles.get(user).catch(() => undefined);
  if (profile && !profile.likenessExplained)
    await services.profiles.update(user, { likenessExplained: true });
}
