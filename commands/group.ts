/**
 * Group features: an admin-only style theme, invitations for new members, an opt-in group photo
 * and setting the group picture from a result. Admin rights come from the platform.
 */
import { z } from 'zod';
import { InputError, NotAvailableError } from '../base/errors.ts';
import { consentPrompt } from './consent.ts';
import { fetchChecked, isImage } from './kit/attachments.ts';
import { enqueueFor } from './kit/enqueue.ts';
import { defaultPolicy, isBanned, type Policy } from './kit/policy.ts';
import { privacyVersion } from './kit/privacy.ts';
import { storedResult } from './kit/results.ts';
import type { Services } from './kit/services.ts';
import type { ChatRef, CommandContext, CommandReply, UserRef } from './kit/types.ts';
import { defineCommand } from './kit/types.ts';
import { resolveStyle } from './portrait.ts';

const options = z.object({
  action: z
    .enum(['show', 'on', 'off', 'style', 'join', 'leave', 'photo', 'picture'])
    .default('show')
    .meta({ describe: 'opt.group.action', positional: 0, required: true }),
  /** Style id for `style` ("off" clears), result job id for `picture`. */
  arg: z.string().max(80).optional().meta({ describe: 'opt.group.arg', positional: 1, autocomplete: true }),
});

async function requireAdmin(ctx: CommandContext): Promise<void> {
  if (!(await ctx.inv.isChatAdmin())) throw new InputError('not_admin', ctx.t('group.not_admin'));
}

/**
 * An admin's group photo: the template photo sent with the command (remembered for the group) or
 * the last one set; the opted-in members with a prepared face fill its faces left to right.
 * Members who did not opt in are never used; those without a prepared face are named (display
 * name only) as skipped.
 */
async function groupPhoto(ctx: CommandContext): Promise<CommandReply> {
  const { inv, services } = ctx;
  await requireAdmin(ctx);
  // An administrator taking a group photo has opted the group in.
  await services.groups.setEnabled(inv.chat, true);
  if (!services.jobs.has('group-photo')) {
    throw new NotAvailableError(
      'Group photos',
      'This deployment has no group-photo pipeline; members can still make their own portraits with /portrait.',
    );
  }
  const file = inv.attachments.find(isImage);
  let template: string | undefined;
  if (file) {
    // The template is the admin's upload: stored only after their consent, like any photo.
    const profile = await services.profiles.get(inv.user);
    if (profile.consent?.version !== privacyVersion()) return consentPrompt(ctx, ctx.t('consent.required'));
    template = await services.uploads.put(inv.user, file.name, await fetchChecked(ctx, file, 'image'));
    await services.groups.setTemplate(inv.chat, template);
  } else {
    template = (await services.groups.get(inv.chat)).template;
    if (!template) throw new InputError('no_template', ctx.t('group.need_template'));
  }
  const members = await services.groups.photoMembers(inv.chat);
  if (members.length < 2) return { text: ctx.t('group.photo_few', { count: members.length }) };
  const ready = members.flatMap((m) => (m.face ? [m.face] : []));
  const skipped = members.filter((m) => !m.face);
  const named = skipped.flatMap((m) => (m.name ? [m.name] : []));
  const skippedText = [
    ...(named.length ? [ctx.t('group.photo_skipped', { names: named.join(', ') })] : []),
    ...(skipped.length > named.length
      ? [ctx.t('group.photo_skipped_unnamed', { count: skipped.length - named.length })]
      : []),
  ].join('\n');
  if (ready.length === 0)
    throw new InputError(
      'no_member_faces',
      [ctx.t('group.photo_none_ready', { count: members.length }), skippedText].filter(Boolean).join('\n'),
    );
  const job = await enqueueFor(ctx, 'group-photo', { template, members: ready.slice(0, 20) });
  return {
    text: [ctx.t('group.photo_queued', { count: ready.length }), skippedText].filter(Boolean).join('\n'),
    track: { jobId: job.id, label: ctx.t('cmd.group') },
  };
}

export const group = defineCommand({
  name: 'group',
  order: 15,
  description: 'cmd.group',
  options,
  attachments: [{ name: 'template', describe: 'opt.group.template' }],
  needsConsent: false,
  listed: true,
  // Joining the group photo waits for an administrator's "/group on" (admin actions never do:
  // an administrator setting a theme or taking a group photo has opted the group in).
  groupFeature: (o) => o.action === 'join',
  async run(ctx, opts) {
    const { inv, services } = ctx;
    if (inv.chat.kind !== 'group') throw new InputError('only_groups', ctx.t('group.only_groups'));
    switch (opts.action) {
      case 'on':
      case 'off':
        await requireAdmin(ctx);
        await services.groups.setEnabled(inv.chat, opts.action === 'on');
        return { text: ctx.t(opts.action === 'on' ? 'group.features_on' : 'group.features_disabled') };
      case 'style': {
        await requireAdmin(ctx);
        if (!opts.arg || opts.arg === 'off') {
          await services.groups.setTheme(inv.chat, undefined);
          return { text: ctx.t('group.theme_cleared') };
        }
        const style = await resolveStyle(ctx, services, opts.arg);
        await services.groups.setTheme(inv.chat, style);
        // Giving the group a theme is an administrator opting the group in.
        await services.groups.setEnabled(inv.chat, true);
        return { text: ctx.t('group.theme_set', { style }) };
      }
      case 'join':
      case 'leave':
        await services.groups.optIn(inv.chat, inv.user, opts.action === 'join');
        return { text: ctx.t(opts.action === 'join' ? 'group.opt_in' : 'group.opt_out'), ephemeral: true };
      case 'photo':
        return groupPhoto(ctx);
      case 'picture': {
        await requireAdmin(ctx);
        if (!opts.arg) throw new InputError('no_result', ctx.t('group.no_result'));
        const refs = await storedResult(
          ctx,
          opts.arg,
          () => new InputError('no_result', ctx.t('group.no_result')),
        );
        return {
          text: ctx.t('group.picture_set'),
          action: { kind: 'set-chat-photo', image: { name: 'group.jpg', ref: refs[0] } },
        };
      }
      default: {
        const g = await services.groups.get(inv.chat);
        const on = g.enabled || ctx.policy.groups === 'open';
        return {
          text: [
            ctx.t('group.theme_show', { style: g.theme ?? ctx.t('settings.unset'), count: g.members.length }),
            ctx.t(on ? 'group.state_on' : 'group.state_off'),
          ].join('\n'),
        };
      }
    }
  },
});

/** A member joined a group: invite them if the group has a theme. Undefined = say nothing. */
export async function invitationFor(
  services: Services,
  chat: ChatRef,
  user: UserRef,
  name: string,
  t: CommandContext['t'],
  policy: Policy = defaultPolicy(),
): Promise<CommandReply | undefined> {
  // Nobody banned is invited, and nobody is invited into a banned chat.
  if (isBanned(policy, { user, chat })) return undefined;
  const g = await services.groups.get(chat);
  if (!g.theme || (policy.groups === 'opt-in' && !g.enabled)) return undefined;
  return { text: t('group.invite', { name, style: g.theme }) };
}
