/**
 * Portraits in a style. Checks the identity and style, enqueues `generate`; results come back
 * through delivery with the buttons from `resultButtons`.
 */
import { z } from 'zod';
import { InputError } from '../core/errors.ts';
import { fetchChecked } from './attachments.ts';
import { button } from './buttons.ts';
import type { Services } from './services.ts';
import type { Button, CommandContext } from './types.ts';
import { defineCommand } from './types.ts';

export function resultButtons(t: CommandContext['t'], jobId: string): Button[][] {
  return [
    [
      button(t('portrait.reroll'), 'portrait', 'reroll', jobId),
      button(t('portrait.more'), 'portrait', 'more', jobId),
      button(t('portrait.animate'), 'talk', 'animate', jobId),
    ],
    [
      button(t('portrait.tryon'), 'tryon', 'ask', jobId),
      button(t('portrait.delete'), 'portrait', 'delete', jobId, 'danger'),
    ],
  ];
}

export async function requireIdentity(ctx: CommandContext): Promise<string> {
  const ids = await ctx.services.identities.list(ctx.inv.user);
  const ready = ids.find((i) => i.status === 'ready' || i.status === 'trained') ?? ids[0];
  if (!ready) throw new InputError('no_identity', ctx.t('portrait.no_identity'));
  return ready.id;
}

export async function resolveStyle(
  ctx: CommandContext,
  services: Services,
  wanted?: string,
): Promise<string> {
  const styles = await services.styles.list();
  if (styles.length === 0) throw new InputError('no_styles', ctx.t('portrait.no_styles'));
  const profile = await services.profiles.get(ctx.inv.user);
  const id = wanted ?? profile.defaultStyle ?? styles[0].id;
  const hit = styles.find((s) => s.id === id || s.name.toLowerCase() === id.toLowerCase());
  if (!hit) throw new InputError('unknown_style', ctx.t('portrait.unknown_style', { style: id }));
  return hit.id;
}

const options = z.object({
  style: z.string().min(1).max(80).optional(),
  count: z.coerce.number().int().min(1).max(6).default(4),
  seed: z.coerce
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
  action: z.enum(['make', 'reroll', 'more', 'delete']).default('make'),
  /** The earlier job a button refers to. */
  arg: z.string().max(60).optional(),
});

export const portrait = defineCommand({
  name: 'portrait',
  description: 'cmd.portrait',
  options,
  needsConsent: true,
  listed: true,
  async run(ctx, opts) {
    const { inv, services } = ctx;
    if (opts.action === 'delete' && opts.arg) {
      await services.jobs.cancel(opts.arg, inv.user);
      return { text: ctx.t('cancel.done', { count: 1 }), ephemeral: true };
    }
    const identity = await requireIdentity(ctx);
    const style = await resolveStyle(ctx, services, opts.style);
    const data: Record<string, unknown> = { identity, style, count: opts.count };
    if (opts.seed !== undefined) data.seed = opts.seed;
    if (opts.action !== 'make' && opts.arg) data.basedOn = opts.arg;
    if (opts.action === 'more') data.variation = 'similar';
    const pose = inv.attachments[0];
    if (pose)
      data.pose = await services.uploads.put(inv.user, pose.name, await fetchChecked(ctx, pose, 'image'));
    const job = await services.jobs.enqueue({
      name: 'generate',
      data,
      user: inv.user,
      idempotencyKey: `${inv.platform}-${inv.id}`,
      replyTarget: inv.replyTarget,
    });
    return {
      text: ctx.t('portrait.queued', { count: opts.count, style }),
      track: { jobId: job.id, label: ctx.t('portrait.progress') },
    };
  },
});
