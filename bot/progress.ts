/**
 * Follows one job and renders its progress as a line of text, for front-ends that edit a message
 * (Telegram, Discord) or push events (web). It reads the job's state when a worker says it
 * changed (queue/progress-feed.ts) and otherwise every `intervalMs` (the queue position and ETA
 * of a waiting job move without notices), so it works the same for jobs run by any worker on any
 * machine; renders only when the text or the preview picture changes.
 */
import type { Locale } from '../base/i18n/index.ts';
import { translator } from '../commands/kit/dispatch.ts';
import { describeProgress } from '../commands/kit/progress-text.ts';
import type { JobView, Services } from '../commands/kit/services.ts';

export interface TrackOptions {
  /** Longest wait between two reads of the job's state (notices usually come sooner). */
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
  const interval = opts.intervalMs ?? 5000;
  const deadline = Date.now() + (opts.maxMs ?? 30 * 60_000);
  let last = '';
  let view: JobView | undefined;
  const t = translator(locale);
  // A notice that arrives while the state is being read still counts: it wakes the next wait.
  let changed = false;
  // After a "done" notice the job's state may still read "active" for a moment (the notice goes
  // out with the worker's bookkeeping, just before BullMQ records the completion): look again soon.
  let settleUntil = 0;
  let wake: (() => void) | undefined;
  const unwatch = await services.jobs
    .watch?.(jobId, (kind) => {
      changed = true;
      if (kind === 'done') settleUntil = Date.now() + 3000;
      wake?.();
    })
    .catch(() => undefined);
  const onAbort = () => wake?.();
  opts.signal?.addEventListener('abort', onAbort);
  try {
    while (!opts.signal?.aborted && Date.now() < deadline) {
      changed = false;
      view = await services.jobs.status(jobId);
      if (!view) return undefined;
      const text = describeProgress(t, label, view, locale);
      // A new preview picture is news too, even when the line reads the same.
      const seen = `${text}\u0000${view.preview ?? ''}`;
      if (seen !== last) {
        last = seen;
        await render(text, view);
      }
      if (TERMINAL.has(view.state)) return view;
      if (changed) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Date.now() < settleUntil ? Math.min(100, interval) : interval);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
    return view;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    unwatch?.();
  }
}
