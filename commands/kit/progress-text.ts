/**
 * One line of progress for a job, in the user's language: the stage by name (the processors'
 * stage ids, queue/jobs/*.ts and core pipelines, are catalog keys `stage.<id>`; an id without an
 * entry reads as a generic "working"), the percentage, the queue position and the time left.
 */
import { isMessageKey, type Locale } from '../../base/i18n/index.ts';
import { errorText } from '../../base/i18n/job-error.ts';
import type { JobView } from './services.ts';
import type { CommandContext } from './types.ts';

type T = CommandContext['t'];

/** A stage id as the user reads it ("load-models" → "loading the models"). */
export function stageName(t: T, stage: string | undefined): string {
  if (!stage) return t('stage.other');
  const key = `stage.${stage}`;
  return isMessageKey(key) ? t(key) : t('stage.other');
}

/** "45 seconds", "3 minutes", "about 2 hours" in the user's language. */
export function duration(t: T, seconds: number): string {
  const s = Math.max(1, Math.round(seconds));
  if (s < 90) return t('time.seconds', { n: s });
  if (s < 90 * 60) return t('time.minutes', { n: Math.round(s / 60) });
  return t('time.hours', { n: Math.round(s / 3600) });
}

/** ", about 3 minutes left" (empty when there is no estimate). */
export function etaText(t: T, v: Pick<JobView, 'etaSeconds'>): string {
  return v.etaSeconds === undefined ? '' : t('status.eta', { eta: duration(t, v.etaSeconds) });
}

export function describeProgress(t: T, label: string, v: JobView, locale: Locale = 'en'): string {
  switch (v.state) {
    case 'waiting':
      return v.position === undefined
        ? t('progress.waiting_unknown', { label }) + etaText(t, v)
        : t('progress.waiting', { label, position: v.position }) + etaText(t, v);
    case 'active':
      return (
        t('progress.line', { label, stage: stageName(t, v.stage), percent: Math.round(v.percent ?? 0) }) +
        etaText(t, v)
      );
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
      return t('progress.waiting_unknown', { label });
  }
}
