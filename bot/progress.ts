/**
 * Follows one job and renders its progress as a line of text, for front-ends that edit a message
 * (Telegram, Discord) or push events (web). Polls the job layer's status, so it works the same
 * for jobs run by any worker on any machine; renders only when the text changes.
 */

import type { Locale } from '../base/i18n/index.ts';
import { translator } from '../commands/dispatch.ts';
import { describeProgress } from '../commands/progress-text.ts';
import type { JobView, Services } from '../commands/services.ts';

export interface TrackOptions {
  intervalMs?: number;
  /** Give up following after this long (the job itself goes on; delivery still happens). */
  maxMs?: number;
  signal?: AbortSignal;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

export async function trackJob(
  services: Services,
  jobId: string,
  label: string,
  locale: Locale,
  render: (text: string, view: JobView) => Promise<void>,
  opts: TrackOptions = {},
): Promise<JobView | undefined> {
  const interval = opts.intervalMs ?? 1000;
  const deadline = Date.now() + (opts.maxMs ?? 30 * 60_000);
  let last = '';
  let view: JobView | undefined;
  const t = translator(locale);
  while (!opts.signal?.aborted && Date.now() < deadline) {
    view = await services.jobs.status(jobId);
    if (!view) return undefined;
    const text = describeProgress(t, label, view, locale);
    if (text !== last) {
      last = text;
      await render(text, view);
    }
    if (TERMINAL.has(view.state)) return view;
    await new Promise((r) => setTimeout(r, interval));
  }
  return view;
}
