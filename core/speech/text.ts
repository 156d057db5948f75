/** What a user asks to be spoken: cleaned, capped and checked before any engine sees it. */
import { InputError } from '../../base/errors.ts';

export const DEFAULT_MAX_TEXT = 500;

/**
 * Control characters (C0, C1, DEL) become spaces (the online service rejects several of them, and
 * eSpeak reads \x01 as the start of an embedded command), lone surrogates and non-characters go,
 * whitespace runs collapse. Throws `empty_text` or `text_too_long` (counted in characters, after
 * cleaning).
 */
export function prepareText(text: unknown, maxChars = DEFAULT_MAX_TEXT): string {
  if (typeof text !== 'string') throw new InputError('empty_text', 'There is no text to speak.');
  const cleaned = text
    .replace(/\p{Cc}/gu, ' ')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '')
    .replace(/[\uFFFE\uFFFF\uFDD0-\uFDEF]/g, '')
    .replace(/\s+/gu, ' ')
    .trim();
  if (!cleaned) throw new InputError('empty_text', 'There is no text to speak.');
  const length = [...cleaned].length;
  if (length > maxChars)
    throw new InputError(
      'text_too_long',
      `The text is ${length} characters long; at most ${maxChars} can be spoken. Shorten it.`,
      { context: { length, max: maxChars } },
    );
  return cleaned;
}

/** Text as SSML character data: markup in it is read aloud, never obeyed. */
export function escapeSsml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export const RATE_RANGE = { min: -50, max: 100 } as const;
export const PITCH_RANGE = { min: -50, max: 50 } as const;

/** Speaking rate as the service writes it: "+10%", "-20%" (from -50% to +100%; default "+0%"). */
export function parseRate(rate: string | undefined): { text: string; percent: number } {
  if (rate === undefined || rate === '') return { text: '+0%', percent: 0 };
  const m = /^([+-]?)(\d{1,3})%$/.exec(rate.trim());
  const percent = m ? Number(m[2]) * (m[1] === '-' ? -1 : 1) : Number.NaN;
  if (!(percent >= RATE_RANGE.min && percent <= RATE_RANGE.max))
    throw new InputError(
      'bad_rate',
      `The speaking rate "${String(rate).slice(0, 20)}" is not valid: use a percentage from -50% to +100%, e.g. +10%.`,
    );
  return { text: `${percent < 0 ? '-' : '+'}${Math.abs(percent)}%`, percent };
}

/** Pitch shift as the service writes it: "+5Hz", "-10Hz" (from -50Hz to +50Hz; default "+0Hz"). */
export function parsePitch(pitch: string | undefined): { text: string; hz: number } {
  if (pitch === undefined || pitch === '') return { text: '+0Hz', hz: 0 };
  const m = /^([+-]?)(\d{1,3})hz$/i.exec(pitch.trim());
  const hz = m ? Number(m[2]) * (m[1] === '-' ? -1 : 1) : Number.NaN;
  if (!(hz >= PITCH_RANGE.min && hz <= PITCH_RANGE.max))
    throw new InputError(
      'bad_pitch',
      `The pitch "${String(pitch).slice(0, 20)}" is not valid: use Hz from -50Hz to +50Hz, e.g. +5Hz.`,
    );
  return { text: `${hz < 0 ? '-' : '+'}${Math.abs(hz)}Hz`, hz };
}
