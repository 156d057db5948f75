import { z } from 'zod';
import { defineCommand } from './kit/types.ts';

export const start = defineCommand({
  name: 'start',
  order: 1,
  description: 'cmd.start',
  options: z.object({}).passthrough(),
  needsConsent: false,
  listed: true,
  async run(ctx) {
    return { text: ctx.t('start.text') };
  },
});
