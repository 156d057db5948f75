/** Consent first: the versioned privacy text with accept / revoke; revoking runs forget. */
import { z } from 'zod';
import { describeReceipt } from './forget.ts';
import { button } from './kit/buttons.ts';
import { howLongKept, privacyVersion } from './kit/privacy.ts';
import type { CommandContext, CommandReply } from './kit/types.ts';
import { defineCommand } from './kit/types.ts';

export function consentPrompt(ctx: CommandContext, lead?: string): CommandReply {
  const text = ctx.t('consent.text', { version: privacyVersion(), how_long: howLongKept(ctx.t) });
  return {
    text: lead ? `${lead}\n\n${text}` : text,
    buttons: [
      [
        button(ctx.t('consent.accept'), 'consent', 'accept', undefined, 'primary'),
        button(ctx.t('consent.revoke'), 'consent', 'revoke', undefined, 'danger'),
      ],
    ],
  };
}

export const consent = defineCommand({
  name: 'consent',
  order: 3,
  description: 'cmd.consent',
  options: z.object({
    action: z
      .enum(['show', 'accept', 'revoke'])
      .default('show')
      .meta({ describe: 'opt.consent.action', positional: 0 }),
  }),
  needsConsent: false,
  listed: true,
  async run(ctx, opts) {
    const { services, inv } = ctx;
    if (opts.action === 'accept') {
      await services.profiles.setConsent(inv.user, { version: privacyVersion(), at: Date.now() });
      return { text: ctx.t('consent.accepted') };
    }
    if (opts.action === 'revoke') {
      await services.profiles.setConsent(inv.user, undefined);
      const receipt = await services.jobs.forget(inv.user);
      return { text: ctx.t('consent.revoked', { removed: describeReceipt(ctx, receipt) }) };
    }
    const profile = await services.profiles.get(inv.user);
    const reply = consentPrompt(ctx);
    if (profile.consent?.version === privacyVersion()) {
      reply.text = `${ctx.t('consent.already', { version: privacyVersion() })}\n\n${reply.text}`;
    }
    return reply;
  },
});
