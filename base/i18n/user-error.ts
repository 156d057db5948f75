/**
 * User-facing errors in the user's language at command time. Commands throw errors whose text
 * they already translated (ctx.t). Errors from outside the command layer (the queue's limits,
 * "no worker runs this", Redis being away, a platform's download limits) are written in English;
 * for other languages their code picks a catalog entry, filled from the error's context. An error
 * lacking the context an entry needs keeps its own text: that is how a command's
 * already-translated error with the same code is told apart (commands add no context).
 */
import type { FacechainError } from '../errors.ts';
import type { MessageKey } from './en.ts';
import { type Locale, translate } from './index.ts';

const BY_CODE: Record<string, { key: MessageKey; params: string[] }> = {
  not_available: { key: 'error.feature_unavailable', params: [] },
  service_unavailable: { key: 'error.service_unavailable', params: [] },
  // The artifact store (S3) being away: the same answer as any other service.
  artifact_store_unreachable: { key: 'error.service_unavailable', params: [] },
  artifact_store_error: { key: 'error.service_unavailable', params: [] },
  too_many_pending: { key: 'error.too_many_pending', params: ['limit'] },
  daily_quota: { key: 'error.daily_quota', params: ['limit'] },
  file_too_big: { key: 'error.file_too_big', params: ['size', 'limit'] },
  no_such_job: { key: 'error.no_such_job', params: ['id'] },
  bad_language: { key: 'error.bad_language', params: ['languages'] },
  telegram_download: { key: 'error.download_failed', params: [] },
  discord_download: { key: 'error.download_failed', params: [] },
};

export function userErrorText(e: FacechainError, locale: Locale): string {
  if (locale === 'en') return e.message;
  const entry = BY_CODE[e.code];
  if (!entry) return e.message;
  const params: Record<string, string | number> = {};
  for (const p of entry.params) {
    const v = e.context[p];
    if (typeof v !== 'string' && typeof v !== 'number') return e.message;
    params[p] = v;
  }
  return translate(locale, entry.key, params);
}
