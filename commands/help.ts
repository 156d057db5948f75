import { z } from 'zod';
import type { Command } from './kit/types.ts';
import { defineCommand } from './kit/types.ts';

/** Filled by the registry to avoid an import cycle. */
let listing: () => Command[] = () => [];
export function setHelpListing(fn: () => Command[]): void {
  listing = fn;
}

export const help = defineCommand({
  name: 'help',
  order: 2,
  description: 'cmd.help',
  options: z.object({}).passthrough(),
  needsConsent: false,
  listed: true,
  async run(ctx) {
    const lines = listing()
      .filter((c) => c.listed)
      .map((c) => `/${c.name} — ${ctx.t(c.description)}`);
    return { text: ctx.t('help.text', { commands: lines.join('\n') }) };
  },
});
