/** Cancel one job (by id) or every waiting/running job of the user. */
import { z } from 'zod';
import { defineCommand } from './kit/types.ts';

export const cancel = defineCommand({
  name: 'cancel',
  order: 12,
  description: 'cmd.cancel',
  options: z
    .object({
      id: z.string().max(100).optional().meta({ describe: 'opt.cancel.id', positional: 0 }),
      arg: z.string().max(100).optional().meta({ hidden: true }),
    })
    .passthrough(),
  needsConsent: false,
  listed: true,
  async run(ctx, opts) {
    const { services, inv } = ctx;
    const id = opts.id ?? opts.arg;
    if (id) {
      const ok = await services.jobs.cancel(id, inv.user);
      return {
        text: ok ? ctx.t('cancel.done', { count: 1 }) : ctx.t('cancel.not_found', { id }),
        ephemeral: true,
      };
    }
    const open = (await services.jobs.list(inv.user)).filter(
      (j) => j.state === 'waiting' || j.state === 'active',
    );
    if (open.length === 0) return { text: ctx.t('cancel.none'), ephemeral: true };
    let n = 0;
    for (const j of open) if (await services.jobs.cancel(j.id, inv.user)) n++;
    return { text: ctx.t('cancel.done', { count: n }), ephemeral: true };
  },
});
