/**
 * The shape of an update as this bot reads it, checked before any handler runs. grammY passes
 * updates on as they come; a malformed one (a message without a chat, a photo list holding
 * null, a member update without a status) threw in a handler, and in the album timer that
 * ended the process. Updates this bot cannot act on are dropped quietly: malformed ones, and
 * messages with no person behind them (channel posts, anonymous group admins) or from other
 * bots (no loops between bots). Logs name only the update's kind, never its content.
 */
import type { Update } from 'grammy/types';
import { z } from 'zod';
import { log } from '../../base/log.ts';

const logger = log('telegram');

const id = z.number().int().safe();
const user = z.object({
  id,
  is_bot: z.boolean(),
  first_name: z.string(),
  language_code: z.string().optional(),
});
const chat = z.object({ id, type: z.string() });
const file = z.object({ file_id: z.string(), file_size: z.number().optional() });
const message = z.object({
  message_id: id,
  chat,
  from: user.optional(),
  text: z.string().optional(),
  caption: z.string().optional(),
  media_group_id: z.string().optional(),
  photo: z.array(file).optional(),
  document: file.extend({ file_name: z.string().optional(), mime_type: z.string().optional() }).optional(),
  voice: file.extend({ mime_type: z.string().optional() }).optional(),
  audio: file.extend({ file_name: z.string().optional(), mime_type: z.string().optional() }).optional(),
  new_chat_members: z.array(user).optional(),
});
const member = z.object({ status: z.string(), user });
const update = z.object({
  update_id: id,
  message: message.optional(),
  callback_query: z
    .object({
      id: z.string(),
      from: user,
      data: z.string().optional(),
      message: z.object({ message_id: id, chat }).optional(),
    })
    .optional(),
  chat_member: z.object({ chat, from: user, old_chat_member: member, new_chat_member: member }).optional(),
});

export type Verdict = 'ok' | 'malformed' | 'no_person' | 'from_bot';

/** Whether the bot should handle this update, and if not, why (for the count in the log). */
export function checkUpdate(u: Update): Verdict {
  const parsed = update.safeParse(u);
  if (!parsed.success) return 'malformed';
  const m = parsed.data.message;
  if (m && !m.from) return 'no_person';
  const from = m?.from ?? parsed.data.callback_query?.from;
  // Joins are handled whoever reports them (the bot skips joining bots itself).
  if (from?.is_bot && !m?.new_chat_members) return 'from_bot';
  return 'ok';
}

/** Drops what checkUpdate refuses; a warning for malformed updates (kind only), nothing for the rest. */
export function updateGuard() {
  return async (ctx: { update: Update }, next: () => Promise<void>): Promise<void> => {
    const verdict = checkUpdate(ctx.update);
    if (verdict === 'ok') return next();
    if (verdict === 'malformed') {
      const kind = Object.keys(ctx.update ?? {}).find((k) => k !== 'update_id') ?? 'none';
      logger.warn(
        { kind: kind.length <= 32 && /^[a-z_]+$/.test(kind) ? kind : 'other' },
        'dropped a malformed update',
      );
    }
  };
}
