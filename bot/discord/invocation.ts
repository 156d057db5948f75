/** Discord interactions → platform-neutral invocations. */
import { type ChatInputCommandInteraction, type Interaction, PermissionFlagsBits } from 'discord.js';
import { InputError, ServiceError } from '../../base/errors.ts';
import { mb } from '../../commands/kit/attachments.ts';
import type { Attachment, Invocation } from '../../commands/kit/types.ts';
import { ATTACHMENT_OPTIONS } from './definitions.ts';

/** Largest user file the bot downloads from Discord's CDN. */
export const DOWNLOAD_LIMIT = 25 * 1024 * 1024;

export function attachmentsOf(i: ChatInputCommandInteraction): Attachment[] {
  const out: Attachment[] = [];
  for (const o of i.options.data) {
    const a = o.attachment;
    if (!a || !ATTACHMENT_OPTIONS.has(o.name)) continue;
    out.push({
      name: a.name,
      mime: a.contentType ?? undefined,
      size: a.size,
      async fetch() {
        if (a.size > DOWNLOAD_LIMIT) {
          throw new InputError(
            'file_too_big',
            `"${a.name}" is ${mb(a.size)} MB; send files up to ${mb(DOWNLOAD_LIMIT)} MB.`,
            { context: { size: mb(a.size), limit: mb(DOWNLOAD_LIMIT) } },
          );
        }
        const res = await fetch(a.url);
        if (!res.ok)
          throw new ServiceError(
            'discord_download',
            `Discord did not give the file "${a.name}" (${res.status}).`,
          );
        return new Uint8Array(await res.arrayBuffer());
      },
    });
  }
  return out;
}

export function optionsOf(i: ChatInputCommandInteraction): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of i.options.data)
    if (!ATTACHMENT_OPTIONS.has(o.name) && o.value !== undefined) out[o.name] = o.value;
  return out;
}

/**
 * `app` is the application id: interaction ids are unique anyway, but everything derived from an
 * update (the "already seen" key, the job id, the reply's delivery lane) names its bot, as on
 * Telegram, so bots sharing a Redis stay apart.
 */
export function invocationFrom(
  i: Interaction,
  app: string,
  command: string,
  options: Record<string, unknown>,
  attachments: Attachment[],
): Invocation {
  const inGuild = i.inGuild();
  const channelId = i.channelId ?? i.user.id;
  return {
    id: `${app}-${i.id}`,
    platform: 'discord',
    user: { platform: 'discord', id: i.user.id, name: i.user.globalName ?? i.user.username },
    chat: { platform: 'discord', id: inGuild ? i.guildId : channelId, kind: inGuild ? 'group' : 'private' },
    command,
    options,
    attachments,
    // A string from Discord; anything else (a malformed payload) is no locale.
    platformLocale: typeof i.locale === 'string' ? i.locale : undefined,
    replyTarget: {
      platform: 'discord',
      chatId: channelId,
      userId: i.user.id,
      extra: { bot: app, interaction: i.id, ...(inGuild ? { guild: i.guildId } : {}) },
    },
    async isChatAdmin() {
      return inGuild && (i.memberPermissions?.has(PermissionFlagsBits.ManageGuild) ?? false);
    },
  };
}
