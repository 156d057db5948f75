/**
 * Virtual try-on: the user wearing a garment from a photo (a person wearing it, a product photo,
 * or a cut-out). The generative try-on where a GPU worker runs it, else the basic try-on every
 * deployment has (the user's face fused into the photo's wearer), with an optional background.
 */
import { z } from 'zod';
import { InputError } from '../base/errors.ts';
import { fetchChecked } from './kit/attachments.ts';
import { enqueueFor, gpuOr } from './kit/enqueue.ts';
import { defineCommand } from './kit/types.ts';
import { requireIdentity } from './portrait.ts';

export const tryon = defineCommand({
  name: 'tryon',
  order: 9,
  description: 'cmd.tryon',
  options: z.object({
    action: z.enum(['make', 'ask']).default('make').meta({ hidden: true }),
    arg: z.string().optional().meta({ hidden: true }),
    background: z
      .enum(['keep', 'studio', 'gradient', 'photo'])
      .default('keep')
      .meta({ describe: 'opt.tryon.background', positional: 0 }),
  }),
  attachments: [
    { name: 'garment', describe: 'opt.tryon.garment', required: true },
    { name: 'backdrop', describe: 'opt.tryon.backdrop' },
  ],
  needsConsent: true,
  listed: true,
  groupFeature: true,
  async run(ctx, opts) {
    const { inv, services } = ctx;
    const [photo, backdrop] = inv.attachments;
    if (opts.action === 'ask' || !photo) return { text: ctx.t('tryon.need_photo') };
    if (inv.attachments.length > 2) throw new InputError('need_garment', ctx.t('tryon.need_photo'));
    if (opts.background === 'photo' && !backdrop)
      throw new InputError('no_background_photo', ctx.t('tryon.need_backdrop'));
    const identity = await requireIdentity(ctx);
    const data: Record<string, unknown> = {
      identityId: identity.id,
      garment: await services.uploads.put(inv.user, photo.name, await fetchChecked(ctx, photo, 'image')),
      // A second photo is the backdrop: sending one means "use it".
      background: backdrop ? 'photo' : opts.background,
    };
    if (backdrop)
      data.backgroundPhoto = await services.uploads.put(
        inv.user,
        backdrop.name,
        await fetchChecked(ctx, backdrop, 'image'),
      );
    const name = await gpuOr(ctx, 'try-on-gpu', 'try-on');
    const job = await enqueueFor(ctx, name, data);
    return { text: ctx.t('tryon.queued'), track: { jobId: job.id, label: ctx.t('cmd.tryon') } };
  },
});
