/**
 * A failed job's message in the user's language, from its stable error code (base/errors.ts).
 * Used for delivered errors (bot/delivery.ts) and failed jobs in /status.
 */
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

/**
 * A failed job's message for the user: the catalog entry it names (the worker's apologies carry
 * many codes but one text each), else the entry of its code where there is one.
 */
export function errorText(error: { code: string; message: string; key?: string }, locale: Locale): string {
  if (error.key && isMessageKey(error.key)) return translate(locale, error.key);
  const key = `joberror.${error.code}`;
  if (!isMessageKey(key) || (locale === 'en' && SPECIFIC_IN_ENGLISH.has(error.code))) return error.message;
  return translate(locale, key);
}
