/**
 * Group features: an admin-only style theme, invitations for new members, an opt-in group photo
 * and setting the group picture from a result. Admin rights come from the platform.
 */
import { z } from 'zod';
import { InputError, NotAvailableError } from '../core/errors.ts';
import { resolveStyle } from './portrait.ts';
import type { Services } from './services.ts';
import type { ChatRef, CommandContext, CommandReply, UserRef } from './types.ts';
import { defineCommand } from './types.ts';

const options = z.object({
  action: z.enum(['show', 'style', 'join', 'leave', 'photo', 'picture']).default('show'),
  /** Style id for `style` ("off" clears), result job id for `picture`. */
  arg: z.string().max(80).optional(),
});

async function requireAdmin(ctx: CommandContext): Promise<void> {
  if (!(await ctx.inv.isChatAdmin())) throw new InputError('not_admin', ctx.t('group.not_admin'));
}

export const group = defineCommand({
  name: 'group',
  description: 'cmd.group',
  options,
  needsConsent: false,
  listed: true,
  async run(ctx, opts) {
    const { inv, services } = ctx;
    if (inv.chat.kind !== 'group') throw new InputError('only_groups', ctx.t('group.only_groups'));
    switch (opts.action) {
      case 'style': {
        await requireAdmin(ctx);
        if (!opts.arg || opts.arg === 'off') {
          await services.groups.setTheme(inv.chat, undefined);
          return { text: ctx.t('group.theme_cleared') };
        }
        const style = await resolveStyle(ctx, services, opts.arg);
        await services.groups.setTheme(inv.chat, style);
        return { text: ctx.t('group.theme_set', { style }) };
      }
      case 'join':
      case 'leave':
        await services.groups.optIn(inv.chat, inv.user, opts.action === 'join');
        return { text: ctx.t(opts.action === 'join' ? 'group.opt_in' : 'group.opt_out'), ephemeral: true };
      case 'photo': {
        const g = await services.groups.get(inv.chat);
        if (g.members.length < 2) return { text: ctx.t('group.photo_few', { count: g.members.length }) };
        if (!services.jobs.has('group-photo')) {
          throw new NotAvailableError(
            'Group photos',
            'This deployment has no group-photo pipeline; members can still make their own portraits with /portrait.',
          );
        }
        const job = await services.jobs.enqueue({
          name: 'group-photo',
          data: { members: g.members, style: g.theme ?? null },
          user: inv.user,
          idempotencyKey: `${inv.platform}-${inv.id}`,
          replyTarget: inv.replyTarget,
        });
        return {
          text: ctx.t('group.photo_queued', { count: g.members.length }),
          track: { jobId: job.id, label: ctx.t('cmd.group') },
        };
      }
      case 'picture': {
        await requireAdmin(ctx);
        if (!opts.arg) throw new InputError('no_result', ctx.t('group.no_result'));
        const refs = await services.jobs.resultImages(opts.arg, inv.user);
        if (refs.length === 0) throw new InputError('no_result', ctx.t('group.no_result'));
        return {
          text: ctx.t('group.picture_set'),
          action: { kind: 'set-chat-photo', image: { name: 'group.jpg', ref: refs[0] } },
        };
      }
      default: {
        const g = await services.groups.get(inv.chat);
        return {
          text: ctx.t('group.theme_show', {
            style: g.theme ?? ctx.t('settings.unset'),
            count: g.members.length,
          }),
        };
      }
    }
  },
});

/** A member joined a group: invite them if the group has a theme. Undefined = say nothing. */
export async function invitationFor(
  services: Services,
  chat: ChatRef,
  _user: UserRef,
  name: string,
  t: CommandContext['t'],
): Promise<CommandReply | undefined> {
  const g = await services.groups.get(chat);
  if (!g.theme) return undefined;
  return { text: t('group.invite', { name, style: g.theme }) };
}
