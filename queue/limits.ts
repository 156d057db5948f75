/**
 * Per-user fairness, enforced before anything is enqueued: a cap on unfinished requests and a
 * daily quota, both Redis counters so every bot process and machine sees the same numbers.
 * The pending set holds "<queue>/<jobId>" of each unfinished request; entries whose job has
 * finished (a crashed worker never removed them) are swept when the cap is hit.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { InputError } from '../base/errors.ts';
import { userKey } from './records.ts';

/**
 * One round trip for everything checked before an enqueue: idempotency claim, "a worker runs
 * this job", the pending cap, the daily quota, and the job index. Nothing changes unless all
 * checks pass. KEYS: idem, pending, quota, index, free set, capability keys...; ARGV: claim
 * value, claim TTL, pending entry, max pending, daily quota, index score, max running, index
 * members...
 *
 * A request admitted while the user has no more unfinished requests than the running limit
 * cannot make that limit bind, so it is marked free ('ok', 1): its jobs start without the
 * START round trip. It goes in the user's free set, which START counts for the others.
 */
const ADMIT = `
local cur = redis.call('GET', KEYS[1])
if cur then return {'dup', cur} end
for i = 6, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then return {'nocap', KEYS[i]} end
end
if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 0 and redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[4]) then
  return {'pending', ''}
end
local used = tonumber(redis.call('GET', KEYS[3]) or '0')
if used >= tonumber(ARGV[5]) then return {'quota', ''} end
redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], 172800)
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
for i = 8, #ARGV do redis.call('ZADD', KEYS[4], ARGV[6], ARGV[i]) end
if redis.call('SCARD', KEYS[2]) <= tonumber(ARGV[7]) then
  redis.call('SADD', KEYS[5], ARGV[3])
  redis.call('EXPIRE', KEYS[5], 172800)
  return {'ok', '1'}
end
return {'ok', ''}`;

/**
 * Running slot for a starting job, unless the job has a tombstone (-1). Also confirms the
 * request's idempotency claim as 'added' (the producer's own confirmation may have been lost),
 * and reads one more key the job needs at start (its identity record) in the same round trip.
 * Free requests (see ADMIT) still unfinished count as running: they start without asking.
 * KEYS: tombstone, running, idem, pending, free[, read]. Returns {state, value of read or nil}.
 */
const START = `
local v = false
if KEYS[6] then v = redis.call('GET', KEYS[6]) end
if redis.call('EXISTS', KEYS[1]) == 1 then return {-1, v} end
redis.call('SET', KEYS[3], 'added', 'XX', 'KEEPTTL')
if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 1 then return {1, v} end
local n = redis.call('SCARD', KEYS[2])
for _, m in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  if redis.call('SISMEMBER', KEYS[4], m) == 1 then n = n + 1 else redis.call('SREM', KEYS[5], m) end
end
if n >= tonumber(ARGV[1]) then return {0, v} end
redis.call('SADD', KEYS[2], ARGV[2])
return {1, v}`;

export type AdmitResult =
  | { kind: 'ok'; free: boolean }
  | { kind: 'dup'; state: string }
  | { kind: 'nocap'; key: string };

const shas = new Map<string, string>();

/** EVALSHA (the script body is sent once per Redis, not on every call), EVAL on NOSCRIPT. */
export async function runScript(redis: Redis, lua: string, numKeys: number, ...args: (string | number)[]) {
  let sha = shas.get(lua);
  if (!sha) {
    sha = createHash('sha1').update(lua).digest('hex');
    shas.set(lua, sha);
  }
  try {
    return await redis.evalsha(sha, numKeys, ...args);
  } catch (e) {
    if (!String((e as Error).message).includes('NOSCRIPT')) throw e;
    return redis.eval(lua, numKeys, ...args);
  }
}

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
   * Claim an idempotency key and admit a request (see ADMIT). Throws the user-facing InputError
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
        ADMIT,
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
  ): Promise<{ state: number; value: string | null }> {
    const key = this.runningKey(user);
    const max = this.limits.maxRunning;
    const idem = userKey(this.prefix, user, 'idem', requestId);
    const base = [tombstoneKey, key, idem, this.pendingKey(user), this.freeKey(user)];
    const ks = readKey ? [...base, readKey] : base;
    const run = async () => {
      const [state, value] = (await runScript(this.redis, START, ks.length, ...ks, max, entry)) as [
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
