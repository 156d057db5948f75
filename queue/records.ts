/**
 * Small per-user records in Redis: profile (locale, consent, settings), identities (prepared
 * photo sets, LoRA files, status) and the per-user job index used by status, cancel and forget.
 * Every key of a user starts with "<prefix>:u:<user>:", so forgetting a user is one SCAN.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { InputError } from '../base/errors.ts';
import { checkUser } from '../core/storage/artifacts.ts';

export const userKey = (prefix: string, user: string, ...parts: string[]): string =>
  [prefix, 'u', checkUser(user), ...parts].join(':');

/** A group chat's record (theme, group-photo template) and its `:members` / `:names` sets. */
export const groupKey = (prefix: string, platform: string, chatId: string): string =>
  `${prefix}:g:${platform}:${chatId}`;

/** Artifact refs an identity record names (kept by the retention sweep however old). */
export function identityRefs(i: Identity): string[] {
  return [...i.crops, i.embedding, i.report, i.lora].filter((r): r is string => typeof r === 'string');
}

/**
 * The group-photo templates group records name (each an admin's artifact). SCAN, never KEYS;
 * the members and names sets of a group share the prefix and are skipped.
 */
export async function groupTemplates(redis: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  const stream = redis.scanStream({ match: `${prefix}:g:*`, count: 500 });
  for await (const batch of stream) {
    const groups = (batch as string[]).filter((k) => !k.endsWith(':members') && !k.endsWith(':names'));
    for (const k of groups) {
      const ref = await redis.hget(k, 'template').catch(() => null);
      if (ref) out.push(ref);
    }
  }
  return out;
}

export const profileSchema = z.object({
  locale: z.string().max(16).optional(),
  consentVersion: z.string().max(32).optional(),
  /** Epoch milliseconds when consent was given. */
  consentAt: z.number().int().optional(),
  settings: z.record(z.string(), z.union([z.string().max(200), z.number(), z.boolean()])).default({}),
});
export type Profile = z.infer<typeof profileSchema>;

export const identitySchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  status: z.enum(['preparing', 'prepared', 'training', 'trained', 'failed']),
  /** Artifact refs of the accepted crops and the identity embedding. */
  crops: z.array(z.string()).default([]),
  embedding: z.string().optional(),
  /** Artifact ref of the preparation report (template face, gender, age band, captions). */
  report: z.string().optional(),
  lora: z.string().optional(),
  updatedAt: z.number().int(),
});
export type Identity = z.infer<typeof identitySchema>;

/** Prepared (untrained) identities kept per user, the newest; older ones are removed. */
export const KEPT_PREPARED = 3;

export interface JobIndexEntry {
  queue: string;
  jobId: string;
  at: number;
}

export class UserRecords {
  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {}

  async getProfile(user: string): Promise<Profile | undefined> {
    const raw = await this.redis.get(userKey(this.prefix, user, 'profile'));
    return raw ? profileSchema.parse(JSON.parse(raw)) : undefined;
  }

  async setProfile(user: string, patch: Partial<Profile>): Promise<Profile> {
    const current = (await this.getProfile(user)) ?? profileSchema.parse({});
    const next = profileSchema.safeParse({ ...current, ...patch });
    if (!next.success)
      throw new InputError('bad_profile', `Invalid profile: ${next.error.issues[0]?.message}`);
    await this.redis.set(userKey(this.prefix, user, 'profile'), JSON.stringify(next.data));
    return next.data;
  }

  async putIdentity(user: string, identity: Identity): Promise<void> {
    const value = identitySchema.parse(identity);
    const res = await this.redis
      .multi()
      .set(userKey(this.prefix, user, 'identity', value.id), JSON.stringify(value))
      .sadd(userKey(this.prefix, user, 'identities'), value.id)
      .exec();
    if (Number(res?.[1]?.[1]) === 1) await this.pruneIdentities(user, value.id);
  }

  /**
   * Every photo set a user sends becomes an identity, and only the newest is ever used (a trained
   * one first): without a bound their records, and the crops they keep from the retention sweep,
   * grew with every photo sent (measured by bench/crowd.ts --mode soak). Of the prepared ones,
   * the newest usable one and the newest others up to KEPT_PREPARED in all (counting the one
   * just added) stay; ones being prepared or trained, and trained ones, always stay.
   */
  private async pruneIdentities(user: string, added: string): Promise<void> {
    const prepared = (await this.listIdentities(user))
      .filter((i) => i.status === 'prepared' || i.status === 'failed')
      .sort((a, b) => b.updatedAt - a.updatedAt);
    // The newest one with usable crops is what /portrait would pick: never removed here.
    const keep = new Set<string>([added]);
    const usable = prepared.find((i) => i.crops.length > 0);
    if (usable) keep.add(usable.id);
    for (const i of prepared) if (keep.size < KEPT_PREPARED) keep.add(i.id);
    const spare = prepared.filter((i) => !keep.has(i.id));
    if (!spare.length) return;
    const tx = this.redis.multi();
    for (const i of spare)
      tx.del(userKey(this.prefix, user, 'identity', i.id)).srem(
        userKey(this.prefix, user, 'identities'),
        i.id,
      );
    await tx.exec();
  }

  async getIdentity(user: string, id: string): Promise<Identity | undefined> {
    const raw = await this.redis.get(userKey(this.prefix, user, 'identity', id));
    return raw ? identitySchema.parse(JSON.parse(raw)) : undefined;
  }

  async listIdentities(user: string): Promise<Identity[]> {
    const ids = await this.redis.smembers(userKey(this.prefix, user, 'identities'));
    const out: Identity[] = [];
    for (const id of ids.sort()) {
      const v = await this.getIdentity(user, id);
      if (v) out.push(v);
    }
    return out;
  }

  async indexJob(user: string, queue: string, jobId: string, at = Date.now()): Promise<void> {
    await this.redis.zadd(userKey(this.prefix, user, 'jobs'), at, `${queue}/${jobId}`);
  }

  async unindexJob(user: string, queue: string, jobId: string): Promise<void> {
    await this.redis.zrem(userKey(this.prefix, user, 'jobs'), `${queue}/${jobId}`);
  }

  /** The user's jobs, newest first. */
  async jobs(user: string): Promise<JobIndexEntry[]> {
    const flat = await this.redis.zrevrange(userKey(this.prefix, user, 'jobs'), 0, -1, 'WITHSCORES');
    const out: JobIndexEntry[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const [queue, jobId] = flat[i].split('/');
      out.push({ queue, jobId, at: Number(flat[i + 1]) });
    }
    return out;
  }

  /** Every Redis key of the user (SCAN, never KEYS). */
  async userKeys(user: string): Promise<string[]> {
    const keys: string[] = [];
    const stream = this.redis.scanStream({ match: `${userKey(this.prefix, user)}:*`, count: 500 });
    for await (const batch of stream) keys.push(...(batch as string[]));
    return keys;
  }

  async deleteUserKeys(user: string): Promise<number> {
    const keys = await this.userKeys(user);
    for (let i = 0; i < keys.length; i += 500) await this.redis.del(...keys.slice(i, i + 500));
    return keys.length;
  }
}
