/** Virtual try-on: keep the garment from the user's photo, repaint person and background. */
import { z } from 'zod';
import { InputError } from '../base/errors.ts';
import { fetchChecked } from './kit/attachments.ts';
import { defineCommand } from './kit/types.ts';
import { requireIdentity } from './portrait.ts';

export const tryon = defineCommand({
  name: 'tryon',
  order: 9,
  description: 'cmd.tryon',
  options: z.object({
    action: z.enum(['make', 'ask']).default('make').meta({ hidden: true }),
    arg: z.string().optional().meta({ hidden: true }),
  }),
  attachments: [{ name: 'garment', describe: 'opt.tryon.garment', required: true }],
  needsConsent: true,
  listed: true,
  groupFeature: true,
  async run(ctx, opts) {
    const { inv, services } = ctx;
    const photo = inv.attachments[0];
    if (opts.action === 'ask' || !photo) return { text: ctx.t('tryon.need_photo') };
    if (inv.attachments.length > 1) throw new InputError('need_garment', ctx.t('tryon.need_photo'));
    const identity = await requireIdentity(ctx);
    if (!identity.crops[0]) throw new InputError('no_identity', ctx.t('portrait.no_identity'));
    const ref = await services.uploads.put(inv.user, photo.name, await fetchChecked(ctx, photo, 'image'));
    const job = await services.jobs.enqueue({
      name: 'try-on',
      data: { photo: identity.crops[0], garment: ref },
      user: inv.user,
      idempotencyKey: `${inv.platform}-${inv.id}`,
      replyTarget: inv.replyTarget,
    });
    return { text: ctx.t('tryon.queued'), track: { jobId: job.id, label: ctx.t('cmd.tryon') } };
  },
});
