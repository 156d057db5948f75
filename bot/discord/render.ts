/** Outgoing messages → Discord message payloads: content, files (fitted to the limit), buttons. */
import { ActionRowBuilder, ButtonBuilder, ButtonStyle, StringSelectMenuBuilder } from 'discord.js';
import { translate } from '../../base/i18n/index.ts';
import type { Button } from '../../commands/kit/types.ts';
import { imageBytes, type Outgoing } from '../adapter.ts';
import { splitText } from '../split-text.ts';
import { DEFAULT_UPLOAD_LIMIT, fitImage } from './fit.ts';

/** Discord's limit on a message's content. */
const TEXT_LIMIT = 2000;

const STYLE: Record<NonNullable<Button['style']>, ButtonStyle> = {
  primary: ButtonStyle.Primary,
  secondary: ButtonStyle.Secondary,
  danger: ButtonStyle.Danger,
};

export function components(buttons: Button[][] | undefined): ActionRowBuilder<ButtonBuilder>[] {
  // Discord: at most 5 rows of 5 buttons.
  return (buttons ?? []).slice(0, 5).map((row) =>
    new ActionRowBuilder<ButtonBuilder>().addComponents(
      row.slice(0, 5).map((b) =>
        new ButtonBuilder()
          .setCustomId(b.id)
          .setLabel(b.label.slice(0, 80))
          .setStyle(STYLE[b.style ?? 'secondary']),
      ),
    ),
  );
}

/** The custom id of select menus; the chosen option's value is a button id. */
export const SELECT_ID = 'select';

export function selectRow(
  select: NonNullable<Outgoing['select']>,
): ActionRowBuilder<StringSelectMenuBuilder> {
  return new ActionRowBuilder<StringSelectMenuBuilder>().addComponents(
    new StringSelectMenuBuilder()
      .setCustomId(SELECT_ID)
      .setPlaceholder(select.placeholder.slice(0, 150))
      .addOptions(select.options.slice(0, 25).map((o) => ({ label: o.label.slice(0, 100), value: o.id }))),
  );
}

export interface DiscordPayload {
  content: string;
  files: Array<{ attachment: Buffer; name: string }>;
  components: Array<ActionRowBuilder<ButtonBuilder> | ActionRowBuilder<StringSelectMenuBuilder>>;
}

/**
 * The messages for `out`: usually one. A text over Discord's 2000 characters goes on as more
 * messages; the files ride on the first, the buttons under the last.
 */
export async function toPayloads(
  out: Outgoing,
  read: (ref: string) => Promise<Uint8Array>,
  limit = DEFAULT_UPLOAD_LIMIT,
): Promise<DiscordPayload[]> {
  const locale = out.locale ?? 'en';
  const files: DiscordPayload['files'] = [];
  const notes: string[] = [];
  // Attachments carry no visible caption: captions (a result's likeness) are listed in the text.
  const captions: string[] = [];
  for (const [i, img] of out.images.slice(0, 10).entries()) {
    const bytes = await imageBytes(img, read);
    const fitted = await fitImage(bytes, limit);
    if (img.caption) captions.push(`${i + 1}. ${img.caption}`);
    if (fitted) {
      const name = fitted === img.bytes ? img.name : img.name.replace(/\.\w+$/, '.jpg');
      // Discord blurs attachments whose name starts with SPOILER_ until they are clicked.
      files.push({ attachment: Buffer.from(fitted), name: img.spoiler ? `SPOILER_${name}` : name });
    } else notes.push(translate(locale, 'error.upload_too_big', { size: mb(bytes.byteLength) }));
  }
  notes.unshift(...captions);
  if (out.video) {
    const bytes = await read(out.video.ref);
    if (bytes.byteLength <= limit) files.push({ attachment: Buffer.from(bytes), name: 'portrait.mp4' });
    else
      notes.push(translate(locale, 'error.video_too_big', { size: mb(bytes.byteLength), limit: mb(limit) }));
  }
  const parts = splitText([out.text, ...notes].join('\n'), TEXT_LIMIT);
  const rows: DiscordPayload['components'] = components(out.buttons).slice(0, out.select ? 4 : 5);
  if (out.select) rows.push(selectRow(out.select));
  return parts.map((content, i) => ({
    content,
    files: i === 0 ? files : [],
    components: i === parts.length - 1 ? rows : [],
  }));
}

const mb = (bytes: number) => (bytes / 1048576).toFixed(1);
