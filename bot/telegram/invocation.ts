/** Telegram updates → platform-neutral invocations (no processing here, only translation). */
import type { Context } from 'grammy';
import type { Message } from 'grammy/types';
import { InputError } from '../../base/errors.ts';
import { mb } from '../../commands/kit/attachments.ts';
import type { Attachment, Invocation } from '../../commands/kit/types.ts';

/** getFile's download limit on the public Bot API; a self-hosted server lifts it. */
export const PUBLIC_DOWNLOAD_LIMIT = 20 * 1024 * 1024;

export interface FileAccess {
  /** Downloads a file by id; throws InputError when it is over the server's download limit. */
  download(fileId: string, size: number | undefined, name: string): Promise<Uint8Array>;
  downloadLimit: number;
}

export function attachmentsOf(msg: Message, files: FileAccess): Attachment[] {
  const out: Attachment[] = [];
  const add = (
    fileId: string,
    name: string,
    mime: string | undefined,
    size: number | undefined,
    generatedName?: true,
  ) => out.push({ name, mime, size, generatedName, fetch: () => files.download(fileId, size, name) });
  if (msg.photo?.length) {
    const best = msg.photo[msg.photo.length - 1];
    add(best.file_id, `photo-${msg.message_id}.jpg`, 'image/jpeg', best.file_size, true);
  }
  if (msg.document) {
    const d = msg.document;
    add(d.file_id, d.file_name ?? `file-${msg.message_id}`, d.mime_type, d.file_size);
  }
  if (msg.voice)
    add(
      msg.voice.file_id,
      `voice-${msg.message_id}.ogg`,
      msg.voice.mime_type ?? 'audio/ogg',
      msg.voice.file_size,
    );
  if (msg.audio) {
    const a = msg.audio;
    add(a.file_id, a.file_name ?? `audio-${msg.message_id}.mp3`, a.mime_type ?? 'audio/mpeg', a.file_size);
  }
  return out;
}

export function tooBigError(size: number, limit: number): InputError {
  return new InputError(
    'file_too_big',
    `The file is ${mb(size)} MB; Telegram bots can download files up to ${mb(limit)} MB. ` +
      'Send a smaller or compressed image (or the operator can run a self-hosted Bot API server).',
    { context: { size: mb(size), limit: mb(limit) } },
  );
}

/**
 * The bot's identity: the numeric prefix of its token, which is the id getMe reports. Update ids
 * are unique per bot only, so everything derived from one (the "already seen" key, the job id,
 * the reply's delivery lane) carries it: two bots on one Redis never take each other's updates.
 */
export function botIdOf(token: string): string {
  return /^(\d{1,20}):/.exec(token)?.[1] ?? 'bot';
}

export function invocationFrom(
  ctx: Context,
  bot: string,
  id: string,
  command: string,
  options: Record<string, unknown>,
  attachments: Attachment[],
): Invocation {
  const chat = ctx.chat!;
  const from = ctx.from!;
  const isGroup = chat.type !== 'private';
  return {
    id: `${bot}-${id}`,
    platform: 'telegram',
    user: { platform: 'telegram', id: String(from.id), name: from.first_name },
    chat: { platform: 'telegram', id: String(chat.id), kind: isGroup ? 'group' : 'private' },
    command,
    options,
    attachments,
    platformLocale: from.language_code,
    replyTarget: {
      platform: 'telegram',
      chatId: String(chat.id),
      userId: String(from.id),
      extra: { bot, ...(ctx.msg?.message_id ? { replyTo: ctx.msg.message_id } : {}) },
    },
    async isChatAdmin() {
      if (!isGroup) return false;
      const m = await ctx.api.getChatMember(chat.id, from.id);
      return m.status === 'creator' || m.status === 'administrator';
    },
  };
}
