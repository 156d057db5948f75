/** Outgoing messages → Discord message payloads: content, files (fitted to the limit), buttons. */
import { ActionRowBuilder, ButtonBuilder, ButtonStyle, StringSelectMenuBuilder } from 'discord.js';
import type { Button } from '../../commands/types.ts';
import { imageBytes, type Outgoing } from '../adapter.ts';
import { DEFAULT_UPLOAD_LIMIT, fitImage } from './fit.ts';

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

export async function toPayload(
  out: Outgoing,
  read: (ref: string) => Promise<Uint8Array>,
  limit = DEFAULT_UPLOAD_LIMIT,
): Promise<DiscordPayload> {
  const files: DiscordPayload['files'] = [];
  const notes: string[] = [];
  for (const img of out.images.slice(0, 10)) {
    const fitted = await fitImage(await imageBytes(img, read), limit);
    if (fitted)
      files.push({
        attachment: Buffer.from(fitted),
        name: fitted === img.bytes ? img.name : img.name.replace(/\.\w+$/, '.jpg'),
      });
    else notes.push(`${img.name} is too large to upload here even after re-encoding.`);
  }
  if (out.video) {
    const bytes = await read(out.video.ref);
    if (bytes.byteLength <= limit) files.push({ attachment: Buffer.from(bytes), name: 'portrait.mp4' });
    else
      notes.push(
        `The video is ${(bytes.byteLength / 1048576).toFixed(1)} MB, over this server's ${(limit / 1048576).toFixed(1)} MB upload limit.`,
      );
  }
  const content = [out.text, ...notes].join('\n').slice(0, 2000);
  const rows: DiscordPayload['components'] = components(out.buttons).slice(0, out.select ? 4 : 5);
  if (out.select) rows.push(selectRow(out.select));
  return { content, files, components: rows };
}
