/**
 * A portrait of the user inside a template photo they send. A template with several faces (a
 * group photo) uses the largest one unless the user picks another: the `face` option (counted
 * from the left, from 1), or the buttons under a result that used one face ("Face 2", ...),
 * which run the same template again with that face.
 */
import { z } from 'zod';
import { InputError, NotAvailableError } from '../base/errors.ts';
import { fetchChecked } from './kit/attachments.ts';
import { enqueueFor } from './kit/enqueue.ts';
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
      face: z.coerce.number().int().min(1).max(64).optional().meta({ describe: 'opt.template.face' }),
      action: z.enum(['make', 'face']).default('make').meta({ hidden: true }),
      /** A face button: "<earlier template job id>.<face from 1>". */
      arg: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,60}\.\d{1,2}$/)
        .optional()
        .meta({ hidden: true }),
    })
    .passthrough(),
  attachments: [{ name: 'photo', describe: 'opt.template.photo', required: true }],
  needsConsent: true,
  listed: true,
  groupFeature: true,
  async run(ctx, opts) {
    const { inv, services } = ctx;
    // queue/jobs/template.ts defines the template job; a job layer wired without it (fewer jobs) is
    // answered "not available" instead of being sent a job nothing would run.
    if (!services.jobs.has('template')) {
      throw new NotAvailableError('Template portraits', 'Use /portrait with a style instead.');
    }
    let ref: string;
    let face = opts.face;
    let identity: Awaited<ReturnType<typeof requireIdentity>>;
    if (opts.action === 'face' && opts.arg) {
      // The same template photo as the earlier request, with the face the user chose.
      const [earlierId, n] = opts.arg.split('.');
      const earlier = await services.jobs.requestOptions(earlierId, inv.user);
      if (!earlier?.template) throw new InputError('need_template', ctx.t('template.need_photo'));
      identity = await requireIdentity(ctx);
      ref = earlier.template;
      face = Number(n);
    } else {
      const photo = inv.attachments[0];
      if (!photo || inv.attachments.length > 1)
        throw new InputError('need_template', ctx.t('template.need_photo'));
      // Checked before the photo is stored, so a refused request stores nothing.
      identity = await requireIdentity(ctx);
      ref = await services.uploads.put(inv.user, photo.name, await fetchChecked(ctx, photo, 'image'));
    }
    const job = await enqueueFor(ctx, 'template', {
      identityId: identity.id,
      template: ref,
      count: opts.count,
      ...(face !== undefined ? { face: face - 1 } : {}),
    });
    return {
      text: face !== undefined ? ctx.t('template.queued_face', { face }) : ctx.t('template.queued'),
      track: { jobId: job.id, label: ctx.t('job.template') },
    };
  },
});
