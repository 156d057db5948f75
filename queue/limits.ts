/**
 * Per-user fairness, enforced before anything is enqueued: a cap on unfinished requests and a
 * daily quota, both Redis counters so every bot process and machine sees the same numbers.
 * The pending set holds "<queue>/<jobId>" of each unfinished request; entries whose job has
 * finished (a crashed worker never removed them) are swept when the cap is hit.
 */
import type { Redis } from 'ioredis';
import { InputError } from '../core/errors.ts';
import { userKey } from '../core/storage/records.ts';

const ACQUIRE = `
if redis.call('SISMEMBER', KEYS[1], ARGV[2]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[2])
return 1`;

export const dayStamp = (at = Date.now()): string =>
  new Date(at).toISOString().slice(0, 10).replaceAll('-', '');

export class UserLimits {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limits: { maxPending: number; maxRunning: number; dailyQuota: number },
    /** Whether a pending entry still belongs to an unfinished job (asked when the cap is hit). */
    private readonly isUnfinished: (entry: string) => Promise<boolean>,
  ) {}

  private pendingKey = (user: string) => userKey(this.prefix, user, 'pending');
  private runningKey = (user: string) => userKey(this.prefix, user, 'running');
  private quotaKey = (user: string, at?: number) => userKey(this.prefix, user, 'quota', dayStamp(at));

  /** Take a pending slot and one unit of today's quota, or throw an InputError saying why not. */
  async acquire(user: string, entry: string): Promise<void> {
    const max = this.limits.maxPending;
    let ok = (await this.redis.eval(ACQUIRE, 1, this.pendingKey(user), max, entry)) === 1;
    if (!ok) {
      await this.sweep(user);
      ok = (await this.redis.eval(ACQUIRE, 1, this.pendingKey(user), max, entry)) === 1;
    }
    if (!ok)
      throw new InputError(
        'too_many_pending',
        `You already have ${max} request(s) in progress. Wait for one to finish, or cancel one with /cancel.`,
        { context: { limit: max } },
      );
    const qk = this.quotaKey(user);
    const used = await this.redis.incr(qk);
    if (used === 1) await this.redis.expire(qk, 2 * 86_400);
    if (used > this.limits.dailyQuota) {
      await this.redis.decr(qk);
      await this.release(user, entry);
      throw new InputError(
        'daily_quota',
        `You have used today's ${this.limits.dailyQuota} request(s). The quota resets at 00:00 UTC.`,
        { context: { limit: this.limits.dailyQuota } },
      );
    }
  }

  /** Undo acquire() when the enqueue itself failed. */
  async refund(user: string, entry: string): Promise<void> {
    await this.redis.decr(this.quotaKey(user));
    await this.release(user, entry);
  }

  async release(user: string, entry: string): Promise<void> {
    await this.redis.srem(this.pendingKey(user), entry);
  }

  async pending(user: string): Promise<string[]> {
    return this.redis.smembers(this.pendingKey(user));
  }

  async quotaUsed(user: string): Promise<number> {
    return Number((await this.redis.get(this.quotaKey(user))) ?? 0);
  }

  private async sweep(user: string): Promise<void> {
    for (const entry of await this.pending(user)) {
      if (!(await this.isUnfinished(entry))) await this.release(user, entry);
    }
  }

  /**
   * Running slots, taken by a worker when a job starts. Entries are "<queue>/<jobId>"; stale
   * ones (a worker was killed) are swept with the same check as pending entries.
   */
  async startRunning(
    user: string,
    entry: string,
    isActive: (e: string) => Promise<boolean>,
  ): Promise<boolean> {
    const key = this.runningKey(user);
    const max = this.limits.maxRunning;
    if ((await this.redis.eval(ACQUIRE, 1, key, max, entry)) === 1) return true;
    for (const e of await this.redis.smembers(key)) if (!(await isActive(e))) await this.redis.srem(key, e);
    return (await this.redis.eval(ACQUIRE, 1, key, max, entry)) === 1;
  }

  async stopRunning(user: string, entry: string): Promise<void> {
    await this.redis.srem(this.runningKey(user), entry);
  }
}
