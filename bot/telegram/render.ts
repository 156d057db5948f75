/**
 * Outgoing messages → Bot API calls: text with inline keyboards, one photo or an album
 * (sendMediaGroup, 2-10 items per call), videos with sendVideo. Limits from the Bot API docs.
 */
import { type Api, InlineKeyboard, InputFile, InputMediaBuilder } from 'grammy';
import { type Locale, translate } from '../../base/i18n/index.ts';
import type { Button } from '../../commands/kit/types.ts';
import { imageBytes, type Outgoing, selectAsButtons } from '../adapter.ts';
import { splitText } from '../split-text.ts';

export const PHOTO_LIMIT = 10 * 1024 * 1024;
export const UPLOAD_LIMIT = 50 * 1024 * 1024;
const CAPTION_LIMIT = 1024;
const TEXT_LIMIT = 4096;

export function keyboard(buttons: Button[][] | undefined): InlineKeyboard | undefined {
  if (!buttons?.length) return undefined;
  return new InlineKeyboard(buttons.map((row) => row.map((b) => InlineKeyboard.text(b.label, b.id))));
}

export interface RenderTarget {
  chatId: string | number;
  replyTo?: number;
}

/** Sends `out`; returns the id of the message carrying the text (for later progress edits). */
export async function renderTelegram(
  api: Api,
  to: RenderTarget,
  out: Outgoing,
  read: (ref: string) => Promise<Uint8Array>,
): Promise<number | undefined> {
  const reply_markup = keyboard(selectAsButtons(out));
  const replyParams = to.replyTo
    ? { reply_parameters: { message_id: to.replyTo, allow_sending_without_reply: true } }
    : {};
  const captionFits = out.text.length <= CAPTION_LIMIT;

  if (out.video) {
    const bytes = await read(out.video.ref);
    if (bytes.byteLength > UPLOAD_LIMIT) {
      const m = await api.sendMessage(to.chatId, tooLargeText(bytes.byteLength, out.locale), replyParams);
      return m.message_id;
    }
    if (out.video.note) {
      // A round video note takes no caption or buttons: the words follow as a message.
      await api.sendVideoNote(to.chatId, new InputFile(bytes, 'portrait.mp4'), {
        length: 512,
        ...replyParams,
      });
      const m = await api.sendMessage(to.chatId, out.text.slice(0, TEXT_LIMIT), {
        ...(reply_markup ? { reply_markup } : {}),
      });
      return m.message_id;
    }
    const m = await api.sendVideo(to.chatId, new InputFile(bytes, 'portrait.mp4'), {
      ...(captionFits ? { caption: out.text } : {}),
      ...(reply_markup ? { reply_markup } : {}),
      supports_streaming: true,
      ...replyParams,
    });
    if (captionFits) return m.message_id;
  }

  const photos: Array<{ bytes: Uint8Array; name: string; caption?: string; spoiler?: boolean }> = [];
  for (const img of out.images)
    photos.push({
      bytes: await imageBytes(img, read),
      name: img.name,
      caption: img.caption,
      spoiler: img.spoiler,
    });
  // Flagged by the output safety check: blurred until the user taps it.
  const spoiler = (p: { spoiler?: boolean }) => (p.spoiler ? { has_spoiler: true } : {});

  if (photos.length === 1 && !out.video) {
    const p = photos[0];
    const file = new InputFile(p.bytes, p.name);
    // One picture: its own caption (its likeness) goes under the reply's text.
    const joined = p.caption ? `${out.text}\n${p.caption}` : out.text;
    const fits = joined.length <= CAPTION_LIMIT;
    const caption = fits ? joined : undefined;
    const m =
      p.bytes.byteLength > PHOTO_LIMIT
        ? await api.sendDocument(to.chatId, file, {
            caption,
            ...(reply_markup ? { reply_markup } : {}),
            ...replyParams,
          })
        : await api.sendPhoto(to.chatId, file, {
            caption,
            ...spoiler(p),
            ...(reply_markup ? { reply_markup } : {}),
            ...replyParams,
          });
    if (fits) return m.message_id;
  } else if (photos.length > 1) {
    for (let i = 0; i < photos.length; i += 10) {
      const chunk = photos.slice(i, i + 10);
      if (chunk.length === 1) {
        await api.sendPhoto(to.chatId, new InputFile(chunk[0].bytes, chunk[0].name), {
          caption: chunk[0].caption,
          ...spoiler(chunk[0]),
        });
        continue;
      }
      await api.sendMediaGroup(
        to.chatId,
        chunk.map((p) =>
          InputMediaBuilder.photo(new InputFile(p.bytes, p.name), {
            ...(p.caption ? { caption: p.caption } : {}),
            ...spoiler(p),
          }),
        ),
        i === 0 ? replyParams : {},
      );
    }
  }
  // Text (and buttons, which albums cannot carry) as their own message; a text over the limit as
  // several, the buttons under the last.
  const parts = splitText(out.text, TEXT_LIMIT);
  let last = 0;
  for (const [i, part] of parts.entries()) {
    const m = await api.sendMessage(to.chatId, part, {
      ...(reply_markup && i === parts.length - 1 ? { reply_markup } : {}),
      ...(photos.length || out.video || i > 0 ? {} : replyParams),
    });
    last = m.message_id;
  }
  return last;
}

function tooLargeText(size: number, locale: Locale = 'en'): string {
  return translate(locale, 'error.video_too_big', {
    size: (size / 1048576).toFixed(1),
    limit: UPLOAD_LIMIT / 1048576,
  });
}
