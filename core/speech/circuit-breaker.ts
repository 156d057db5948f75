/**
 * A circuit breaker for an outside service: after `threshold` failures in a row it opens and
 * requests are refused at once for `openMs` (no user waits 20 s for a service that is down);
 * then one trial request is let through (half-open): success closes it, failure opens it again.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private trialRunning = false;
  private readonly now: () => number;

  constructor(
    readonly threshold = 3,
    readonly openMs = 60_000,
    now?: () => number,
  ) {
    this.now = now ?? Date.now;
  }

  get state(): BreakerState {
    if (this.failures < this.threshold) return 'closed';
    return this.now() - this.openedAt >= this.openMs ? 'half-open' : 'open';
  }

  /** Whether a request may go out now (in half-open state, only one at a time). */
  tryAcquire(): boolean {
    const s = this.state;
    if (s === 'closed') return true;
    if (s === 'open' || this.trialRunning) return false;
    this.trialRunning = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.trialRunning = false;
  }

  failure(): void {
    this.trialRunning = false;
    this.failures++;
    if (this.failures >= this.threshold) this.openedAt = this.now();
  }

  /** A request ended without telling anything about the service (cancelled by the user). */
  release(): void {
    this.trialRunning = false;
  }

  /** Milliseconds until a trial request is allowed (0 when not open). */
  retryInMs(): number {
    return this.state === 'open' ? Math.max(0, this.openMs - (this.now() - this.openedAt)) : 0;
  }
}
