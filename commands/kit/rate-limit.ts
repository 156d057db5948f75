/**
 * Per-user token bucket: `burst` commands at once, refilled at `perMinute`. In-process, because
 * it guards this bot process's own event loop; the job layer's Redis quotas guard the GPUs.
 */
export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly burst: number,
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** 0 when allowed (and a token is taken), else the seconds to wait. */
  take(key: string): number {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 60_000) * this.perMinute);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      this.buckets.set(key, b);
      if (this.buckets.size > 100_000) this.prune(now);
      return 0;
    }
    this.buckets.set(key, b);
    return Math.ceil(((1 - b.tokens) * 60) / this.perMinute);
  }

  private prune(now: number): void {
    for (const [k, b] of this.buckets) if (now - b.at > 600_000) this.buckets.delete(k);
  }
}
