/**
 * Per-user fairness, enforced before anything is enqueued: a cap on unfinished requests and a
 * daily quota, both Redis counters so every bot process and machine sees the same numbers.
 * The pending set holds "<queue>/<jobId>" of each unfinished request; entries whose job has
 * finished (a crashed worker never removed them) are swept when the cap is hit.
 */
import type { Redis } from 'ioredis';
import { InputError } from '../base/errors.ts';
import { runScript, SCRIPTS } from './lua/scripts.ts';
import { userKey } from './records.ts';

export type AdmitResult =
  | { kind: 'ok'; free: boolean }
  | { kind: 'dup'; state: string }
  | { kind: 'nocap'; key: string };

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
  private freeKey = (user: string) => userKey(this.prefix, user, 'free');
  private quotaKey = (user: string, at?: number) => userKey(this.prefix, user, 'quota', dayStamp(at));

  /**
   * Claim an idempotency key and admit a request (see SCRIPTS.admit). Throws the user-facing InputError
   * for the pending cap and the quota; sweeps stale pending entries once before refusing.
   */
  async admit(a: {
    user: string;
    idemKey: string;
    claimValue: string;
    claimTtl: number;
    entry: string;
    capabilityKeys: string[];
    indexMembers: string[];
  }): Promise<AdmitResult> {
    const run = async () =>
      (await runScript(
        this.redis,
        SCRIPTS.admit,
        5 + a.capabilityKeys.length,
        a.idemKey,
        this.pendingKey(a.user),
        this.quotaKey(a.user),
        userKey(this.prefix, a.user, 'jobs'),
        this.freeKey(a.user),
        ...a.capabilityKeys,
        a.claimValue,
        a.claimTtl,
        a.entry,
        this.limits.maxPending,
        this.limits.dailyQuota,
        Date.now(),
        this.limits.maxRunning,
        ...a.indexMembers,
      )) as [string, string];
    let [kind, detail] = await run();
    if (kind === 'pending') {
      await this.sweep(a.user);
      [kind, detail] = await run();
    }
    if (kind === 'pending')
      throw new InputError(
        'too_many_pending',
        `You already have ${this.limits.maxPending} request(s) in progress. Wait for one to finish, or cancel one with /cancel.`,
        { context: { limit: this.limits.maxPending } },
      );
    if (kind === 'quota')
      throw new InputError(
        'daily_quota',
        `You have used today's ${this.limits.dailyQuota} request(s). The quota resets at 00:00 UTC.`,
        { context: { limit: this.limits.dailyQuota } },
      );
    if (kind === 'dup') return { kind, state: detail };
    if (kind === 'nocap') return { kind, key: detail };
    return { kind: 'ok', free: detail === '1' };
  }

  /**
   * Take a running slot unless the job was cancelled: state 1 ok, 0 over the limit, -1
   * cancelled; `value` is the string at `readKey` (read in the same round trip), or null.
   */
  async start(
    user: string,
    entry: string,
    tombstoneKey: string,
    requestId: string,
    isActive: (e: string) => Promise<boolean>,
    readKey?: string,
    /** A progress notice published when the slot is taken (queue/progress-feed.ts). */
    notice?: { channel: string; payload: string },
  ): Promise<{ state: number; value: string | null }> {
    const key = this.runningKey(user);
    const max = this.limits.maxRunning;
    const idem = userKey(this.prefix, user, 'idem', requestId);
    const base = [tombstoneKey, key, idem, this.pendingKey(user), this.freeKey(user)];
    const ks = readKey ? [...base, readKey] : base;
    const run = async () => {
      const args = [max, entry, notice?.channel ?? '', notice?.payload ?? ''];
      const [state, value] = (await runScript(this.redis, SCRIPTS.start, ks.length, ...ks, ...args)) as [
        number,
        string | null,
      ];
      return { state: Number(state), value: value ?? null };
    };
    const r = await run();
    if (r.state !== 0) return r;
    for (const e of await this.redis.smembers(key)) if (!(await isActive(e))) await this.redis.srem(key, e);
    return run();
  }

  runningKeyOf(user: string): string {
    return this.runningKey(user);
  }

  pendingKeyOf(user: string): string {
    return this.pendingKey(user);
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

  async stopRunning(user: string, entry: string): Promise<void> {
    await this.redis.srem(this.runningKey(user), entry);
  }
}
