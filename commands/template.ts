/** A portrait of the user inside a template photo they send. */
import { z } from 'zod';
import { InputError, NotAvailableError } from '../base/errors.ts';
import { fetchChecked } from './kit/attachments.ts';
import { defineCommand } from './kit/types.ts';
import { requireIdentity } from './portrait.ts';

export const template = defineCommand({
  name: 'template',
  order: 8,
  description: 'cmd.template',
  options: z
    .object({
      count: z.coerce
        .number()
        .int()
        .min(1)
        .max(6)
        .default(2)
        .meta({ describe: 'opt.template.count', positional: 0 }),
    })
    .passthrough(),
  attachments: [{ name: 'photo', describe: 'opt.template.photo', required: true }],
  needsConsent: true,
  listed: true,
  async run(ctx, opts) {
    const { inv, services } = ctx;
    const photo = inv.attachments[0];
    if (!photo || inv.attachments.length > 1)
      throw new InputError('need_template', ctx.t('template.need_photo'));
    const identity = await requireIdentity(ctx);
    // queue/jobs.ts defines the template job; a job layer wired without it (fewer jobs) is
    // answered "not available" instead of being sent a job nothing would run.
    if (!services.jobs.has('template')) {
      throw new NotAvailableError('Template portraits', 'Use /portrait with a style instead.');
    }
    const ref = await services.uploads.put(inv.user, photo.name, await fetchChecked(ctx, photo, 'image'));
    const job = await services.jobs.enqueue({
      name: 'template',
      data: { identityId: identity.id, template: ref, count: opts.count },
      user: inv.user,
      idempotencyKey: `${inv.platform}-${inv.id}`,
      replyTarget: inv.replyTarget,
    });
    return { text: ctx.t('template.queued'), track: { jobId: job.id, label: ctx.t('portrait.progress') } };
  },
});
