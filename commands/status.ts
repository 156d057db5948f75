/** The user's jobs with queue position, stage, percentage and ETA, and the state of their faces. */
import { z } from 'zod';
import { isMessageKey, resolveLocale } from '../base/i18n/index.ts';
import { errorText } from '../base/i18n/job-error.ts';
import { etaText, stageName } from './kit/progress-text.ts';
import type { IdentityView, JobView } from './kit/services.ts';
import type { CommandContext } from './kit/types.ts';
import { defineCommand } from './kit/types.ts';

export function describeJob(ctx: Pick<CommandContext, 't' | 'locale'>, j: JobView): string {
  let detail = '';
  if (j.state === 'waiting' && j.position !== undefined)
    detail += ctx.t('status.position', { position: j.position });
  if (j.state === 'active' && j.percent !== undefined) {
    detail += ctx.t('status.percent', { stage: stageName(ctx.t, j.stage), percent: Math.round(j.percent) });
  }
  if (j.state === 'waiting' || j.state === 'active') detail += etaText(ctx.t, j);
  if (j.state === 'failed' && j.error) detail += `: ${errorText(j.error, resolveLocale(ctx.locale))}`;
  const label = isMessageKey(`job.${j.name}`) ? ctx.t(`job.${j.name}`) : j.name;
  return ctx.t('status.line', { name: `${label} (${j.id})`, state: ctx.t(`status.${j.state}`), detail });
}

/** One line per identity: usable or not, and where its personal model (LoRA) stands. */
export function describeIdentity(ctx: Pick<CommandContext, 't'>, i: IdentityView): string {
  const state = isMessageKey(`identity.${i.status}`) ? ctx.t(`identity.${i.status}`) : i.status;
  return ctx.t('status.identity', { photos: i.crops.length, state });
}

export const status = defineCommand({
  name: 'status',
  order: 11,
  description: 'cmd.status',
  options: z.object({}).passthrough(),
  needsConsent: false,
  listed: true,
  async run(ctx) {
    const [jobs, identities] = await Promise.all([
      ctx.services.jobs.list(ctx.inv.user),
      ctx.services.identities.list(ctx.inv.user),
    ]);
    const lines = [
      ...identities.map((i) => describeIdentity(ctx, i)),
      ...(jobs.length ? jobs.map((j) => describeJob(ctx, j)) : [ctx.t('status.none')]),
    ];
    return { text: lines.join('\n'), ephemeral: true };
  },
});
