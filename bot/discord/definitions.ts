/**
 * Slash command definitions (Discord's JSON), derived from the command table: each command's
 * option schema and attachments (commands/kit/options.ts) with localized descriptions (en-US, zh-CN).
 */
import { translate } from '../../base/i18n/index.ts';
import { COMMANDS } from '../../commands/index.ts';
import { attachmentNames, discordOptions } from '../../commands/kit/options.ts';

/** Attachment option names → these become invocation attachments, not options. */
export const ATTACHMENT_OPTIONS = new Set(
  COMMANDS.flatMap((c) => (c.attachments ?? []).flatMap((a) => attachmentNames(a))),
);

export function commandDefinitions(): Array<Record<string, unknown>> {
  return COMMANDS.filter((c) => c.listed).flatMap((c) =>
    [c.name, ...(c.aliases ?? [])].map((name) => ({
      name,
      type: 1,
      description: translate('en', c.description).slice(0, 100),
      description_localizations: { 'zh-CN': translate('zh-CN', c.description).slice(0, 100) },
      options: discordOptions(c),
      // Usable in servers, bot DMs and private channels.
      contexts: [0, 1, 2],
      integration_types: [0],
    })),
  );
}
