/**
 * The contract every chat front-end follows. A front-end turns platform events into
 * `Invocation`s for `dispatch`, renders `Outgoing` messages, follows tracked jobs with progress
 * edits, and implements the job layer's `Deliverer` for results that arrive later.
 */
import type { Locale } from '../base/i18n/index.ts';
import type { Button, CommandReply, ReplyImage } from '../commands/kit/types.ts';
import type { Reply } from '../queue/reply.ts';

export interface FrontEnd {
  name: string;
  /** Where a person reaches it (a URL for the web playground), for the start-up banner. */
  address?: string;
  stop(): Promise<void>;
}

/** One message to render, whatever produced it (a command now, or a delivered job result later). */
export interface Outgoing {
  text: string;
  images: ReplyImage[];
  video?: { ref: string; note?: boolean };
  buttons?: Button[][];
  select?: { placeholder: string; options: Button[] };
  isError?: boolean;
  /** The user's language, for what the renderer itself has to say (files too large, ...). */
  locale?: Locale;
}

/** Platforms without select menus show the choices as buttons, two per row, after the others. */
export function selectAsButtons(out: Outgoing): Button[][] | undefined {
  if (!out.select) return out.buttons;
  const rows: Button[][] = [...(out.buttons ?? [])];
  for (let i = 0; i < out.select.options.length; i += 2) rows.push(out.select.options.slice(i, i + 2));
  return rows;
}

export function fromCommandReply(r: CommandReply): Outgoing {
  return {
    text: r.text,
    images: r.images ?? [],
    ...(r.buttons ? { buttons: r.buttons } : {}),
    ...(r.select ? { select: r.select } : {}),
    ...(r.locale ? { locale: r.locale } : {}),
    ...(r.isError ? { isError: true } : {}),
  };
}

export function fromDelivery(r: Reply): Outgoing {
  return {
    text: r.text,
    images: r.images.map((ref, i) => ({ ref, name: `result-${i + 1}.${ref.split('.').pop() ?? 'jpg'}` })),
    ...(r.video ? { video: { ref: r.video, ...(r.videoNote ? { note: true } : {}) } } : {}),
    ...(r.buttons ? { buttons: r.buttons } : {}),
    ...(r.error ? { isError: true } : {}),
  };
}

/** Bytes of an image to send: inline previews or artifact refs read through `read`. */
export async function imageBytes(
  img: ReplyImage,
  read: (ref: string) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  if (img.bytes) return img.bytes;
  if (img.ref) return read(img.ref);
  throw new Error(`image ${img.name} has neither bytes nor ref`);
}
