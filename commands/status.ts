/** The user's jobs with queue position, stage, percentage and ETA. */
import { z } from 'zod';
import { isMessageKey } from './i18n/index.ts';
import type { JobView } from './services.ts';
import type { CommandContext } from './types.ts';
import { defineCommand } from './types.ts';

export function describeJob(ctx: Pick<CommandContext, 't'>, j: JobView): string {
  let detail = '';
  if (j.state === 'waiting' && j.position !== undefined)
    detail += ctx.t('status.position', { position: j.position });
  if (j.state === 'active' && j.percent !== undefined) {
    detail += ctx.t('status.percent', { stage: j.stage ?? '', percent: Math.round(j.percent) });
  }
  if ((j.state === 'waiting' || j.state === 'active') && j.etaSeconds !== undefined) {
    detail += ctx.t('status.eta', { eta: Math.round(j.etaSeconds) });
  }
  if (j.state === 'failed' && j.error) detail += `: ${j.error.message}`;
  const label = isMessageKey(`job.${j.name}`) ? ctx.t(`job.${j.name}`) : j.name;
  return ctx.t('status.line', { name: `${label} (${j.id})`, state: ctx.t(`status.${j.state}`), detail });
}

export const status = defineCommand({
  name: 'status',
  description: 'cmd.status',
  options: z.object({}).passthrough(),
  needsConsent: false,
  listed: true,
  async run(ctx) {
    const jobs = await ctx.services.jobs.list(ctx.inv.user);
    if (jobs.length === 0) return { text: ctx.t('status.none'), ephemeral: true };
    return { text: jobs.map((j) => describeJob(ctx, j)).join('\n'), ephemeral: true };
  },
});
