/** Outgoing messages → Discord message payloads: content, files (fitted to the limit), buttons. */
import { ActionRowBuilder, ButtonBuilder, ButtonStyle } from 'discord.js';
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

export interface DiscordPayload {
  content: string;
  files: Array<{ attachment: Buffer; name: string }>;
  components: ActionRowBuilder<ButtonBuilder>[];
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
  return { content, files, components: components(out.buttons) };
}
