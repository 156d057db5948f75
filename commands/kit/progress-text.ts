/** One line of progress for a job, in the user's language. */
import type { Locale } from '../../base/i18n/index.ts';
import { errorText } from '../../base/i18n/job-error.ts';
import type { JobView } from './services.ts';
import type { CommandContext } from './types.ts';

export function describeProgress(
  t: CommandContext['t'],
  label: string,
  v: JobView,
  locale: Locale = 'en',
): string {
  switch (v.state) {
    case 'waiting':
      return t('progress.waiting', { label, position: v.position ?? '?' });
    case 'active': {
      const line = t('progress.line', { label, stage: v.stage ?? '', percent: Math.round(v.percent ?? 0) });
      return v.etaSeconds !== undefined ? line + t('status.eta', { eta: Math.round(v.etaSeconds) }) : line;
    }
    case 'completed':
      return t('progress.done', { label });
    case 'failed':
      return t('progress.failed', {
        label,
        message: v.error ? errorText(v.error, locale) : t('status.failed'),
      });
    case 'cancelled':
      return t('progress.cancelled', { label });
    default:
      return t('progress.waiting', { label, position: '?' });
  }
}
