/**
 * Photos in → identity out. Stores the photos as artifacts and enqueues prepare-identity; the
 * job layer runs LoRA training after it where a trainer is configured, else marks the identity
 * ready for zero-shot use. The per-photo report arrives as the job's delivered reply.
 */
import { z } from 'zod';
import { InputError } from '../base/errors.ts';
import { fetchChecked, photoLabel } from './kit/attachments.ts';
import { enqueueFor } from './kit/enqueue.ts';
import { defineCommand } from './kit/types.ts';

export const MAX_PHOTOS = 20;

/** One identity per photo set, named after the update that brought it (stable on re-sends). */
export function identityIdFor(invocationId: string): string {
  return `i-${invocationId.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64);
}

export const train = defineCommand({
  name: 'train',
  order: 4,
  aliases: ['photos'],
  description: 'cmd.train',
  options: z.object({}).passthrough(),
  attachments: [{ name: 'photo', describe: 'opt.train.photo', required: true, count: 20 }],
  needsConsent: true,
  listed: true,
  async run(ctx) {
    const { inv, services } = ctx;
    // Face photos are biometric data: take them only in a private chat, never in a group.
    if (inv.chat.kind === 'group') throw new InputError('private_only', ctx.t('train.private_only'));
    const photos = inv.attachments;
    if (photos.length === 0) throw new InputError('no_photos', ctx.t('train.need_photos'));
    if (photos.length > MAX_PHOTOS) {
      throw new InputError('too_many_photos', ctx.t('train.too_many', { count: photos.length }));
    }
    // Validate every file before storing any, so one bad file loses nothing else and stores nothing.
    const bytes: Uint8Array[] = [];
    for (const p of photos) bytes.push(await fetchChecked(ctx, p, 'image'));
    const refs: string[] = [];
    for (let i = 0; i < photos.length; i++)
      refs.push(await services.uploads.put(inv.user, photos[i].name, bytes[i]));
    const job = await enqueueFor(ctx, 'prepare-identity', {
      identityId: identityIdFor(inv.id),
      photos: refs,
      names: photos.map((p, i) => photoLabel(p, i + 1, ctx.t)),
      locale: ctx.locale,
    });
    if (job.duplicate) return { text: ctx.t('train.duplicate') };
    return {
      text: ctx.t('train.queued', { count: photos.length }),
      track: { jobId: job.id, label: ctx.t('train.progress') },
    };
  },
});
