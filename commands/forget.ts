/** Delete everything of the user, after a confirmation button, and say what was deleted. */
import { z } from 'zod';
import { button } from './kit/buttons.ts';
import type { ForgetReceipt } from './kit/services.ts';
import type { CommandContext } from './kit/types.ts';
import { defineCommand } from './kit/types.ts';

export function describeReceipt(ctx: CommandContext, r: ForgetReceipt): string {
  const parts = Object.entries(r.removed)
    .filter(([, n]) => n > 0)
    .map(([what, n]) => `${n} ${what}`);
  return parts.length ? parts.join(', ') : ctx.t('forget.nothing');
}

export const forget = defineCommand({
  name: 'forget',
  order: 14,
  description: 'cmd.forget',
  options: z.object({ action: z.enum(['ask', 'confirm']).default('ask').meta({ hidden: true }) }),
  needsConsent: false,
  listed: true,
  async run(ctx, opts) {
    if (opts.action !== 'confirm') {
      return {
        text: ctx.t('forget.confirm'),
        buttons: [[button(ctx.t('forget.yes'), 'forget', 'confirm', undefined, 'danger')]],
        ephemeral: true,
      };
    }
    await ctx.services.profiles.setConsent(ctx.inv.user, undefined);
    const receipt = await ctx.services.jobs.forget(ctx.inv.user);
    return { text: ctx.t('forget.done', { removed: describeReceipt(ctx, receipt) }), ephemeral: true };
  },
});
