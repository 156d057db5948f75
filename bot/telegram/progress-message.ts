/**
 * A request's progress in a Telegram chat: the bot's answer is edited with each progress line,
 * and while a generation shows previews a photo message under it carries the newest one
 * (sendPhoto once, then editMessageMedia) with the line as its caption. A text message cannot
 * become a photo message, hence the second message; it is deleted when the job ends, and the
 * answer then shows the final line. Every call here goes through the chat's edit throttle
 * (bot/throttle.ts), so edits stay within Telegram's flood limits.
 */
import { type Api, InputFile, InputMediaBuilder } from 'grammy';
import type { Editable } from '../conversation.ts';

const CAPTION_LIMIT = 1024;
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

export function progressMessage(api: Api, chatId: string, messageId: number): Editable {
  let previewId: number | undefined;
  return {
    key: chatId,
    async edit(text, { view }) {
      if (previewId !== undefined && TERMINAL.has(view.state)) {
        const id = previewId;
        previewId = undefined;
        await api.deleteMessage(chatId, id).catch(() => {});
      }
      if (previewId !== undefined)
        await api.editMessageCaption(chatId, previewId, { caption: text.slice(0, CAPTION_LIMIT) });
      else await api.editMessageText(chatId, messageId, text);
    },
    async editMedia(image, text) {
      const caption = text.slice(0, CAPTION_LIMIT);
      const file = new InputFile(image.bytes, image.name);
      if (previewId === undefined) {
        const m = await api.sendPhoto(chatId, file, {
          caption,
          reply_parameters: { message_id: messageId, allow_sending_without_reply: true },
          disable_notification: true,
        });
        previewId = m.message_id;
        return;
      }
      await api.editMessageMedia(chatId, previewId, InputMediaBuilder.photo(file, { caption }));
    },
  };
}
