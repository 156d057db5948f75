/** Checks on user files before anything is downloaded, and the download itself. */

import { InputError } from '../../base/errors.ts';
import { config } from '../../core/config.ts';
import type { Attachment, CommandContext } from './types.ts';

const IMAGE_EXT = /\.(jpe?g|png|webp|heic|heif|bmp|gif|tiff?)$/i;
const AUDIO_EXT = /\.(ogg|oga|opus|mp3|m4a|wav|flac|aac|webm)$/i;

export function mb(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

export function isImage(a: Attachment): boolean {
  return a.mime ? a.mime.startsWith('image/') : IMAGE_EXT.test(a.name);
}

export function isAudio(a: Attachment): boolean {
  return a.mime ? a.mime.startsWith('audio/') || a.mime === 'video/ogg' : AUDIO_EXT.test(a.name);
}

/**
 * How a report names a photo: the file name the user sent, without folders, control characters
 * or anything link-like (job payloads refuse URLs), at most 100 characters; "photo N" in the
 * user's language when the platform gave no name.
 */
export function photoLabel(a: Attachment, n: number, t: CommandContext['t']): string {
  const bare = (a.generatedName ? '' : a.name)
    .split(/[/\\]/)
    .pop()!
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .replace(/[a-z][a-z0-9+.-]*:\/\//gi, '')
    .replace(/^\s*data:|\bbot\d+:/gi, '')
    .trim();
  const name = bare.length > 100 ? `${bare.slice(0, 60)}…${bare.slice(-39)}` : bare;
  return name || t('reply.photo_n', { n });
}

/** Largest file a user may send; platform limits are enforced by the adapters before this. */
export function maxUploadBytes(): number {
  return config().FACECHAIN_MAX_IMAGE_BYTES;
}

/** Reject by reported size and type, then download, re-checking the real size. */
export async function fetchChecked(
  ctx: CommandContext,
  a: Attachment,
  kind: 'image' | 'audio',
): Promise<Uint8Array> {
  const limit = maxUploadBytes();
  if (kind === 'image' && !isImage(a)) {
    throw new InputError('not_image', ctx.t('train.not_image', { name: a.name }));
  }
  if (kind === 'audio' && !isAudio(a)) {
    throw new InputError('not_audio', ctx.t('talk.need_input'));
  }
  const tooBig = (size: number) =>
    new InputError(
      'file_too_big',
      ctx.t('train.too_big', { name: a.name, size: mb(size), limit: mb(limit) }),
    );
  if (a.size !== undefined && a.size > limit) throw tooBig(a.size);
  const bytes = await a.fetch();
  if (bytes.byteLength > limit) throw tooBig(bytes.byteLength);
  return bytes;
}
