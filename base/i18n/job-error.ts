/**
 * A failed job's message in the user's language, from its stable error code (core/errors.ts).
 * Used for delivered errors (bot/delivery.ts) and failed jobs in /status.
 */
import { en } from './en.ts';
import { isMessageKey, type Locale, translate } from './index.ts';

/**
 * Codes whose English job message names specifics (which photo, which feature, how many faces)
 * that the catalog's general wording lacks: English readers get the job's own message.
 */
const SPECIFIC_IN_ENGLISH = new Set([
  'no_usable_photos',
  'not_available',
  'no_such_face',
  'no_usable_candidate',
  'no_face',
]);

/** The worker's apologies for failures users cannot fix carry many codes but one text each. */
const GENERIC = ['joberror.internal', 'joberror.model', 'joberror.stalled'] as const;

/** A failed job's message for the user: the catalog entry of its code where there is one. */
export function errorText(error: { code: string; message: string }, locale: Locale): string {
  const generic = GENERIC.find((k) => en[k] === error.message);
  if (generic) return translate(locale, generic);
  const key = `joberror.${error.code}`;
  if (!isMessageKey(key) || (locale === 'en' && SPECIFIC_IN_ENGLISH.has(error.code))) return error.message;
  return translate(locale, key);
}
