/**
 * Binds the commands' `Services` port to the job layer: the Producer (BullMQ), the user records
 * and the artifact store. The only place that maps platform users to job-layer user ids.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { InputError, isFacechainError, ServiceError } from '../base/errors.ts';
import type {
  ForgetReceipt,
  JobView,
  Services,
  StyleView,
  UserProfile,
  UserStyleView,
} from '../commands/kit/services.ts';
import type { ChatRef, UserRef } from '../commands/kit/types.ts';
import { type UserStyle, type UserStyleStore, userStyleStore } from '../core/lora/user-styles.ts';
import { jobIdFor, userIdFor } from '../queue/ids.ts';
import { isJobName, type JobInput, type JobName } from '../queue/jobs/index.ts';
import { runScript, SCRIPTS } from '../queue/lua/scripts.ts';
import type { Producer } from '../queue/producer.ts';
import { groupKey as groupRecordKey, userKey } from '../queue/records.ts';
import { sweptRefs } from '../queue/retention.ts';
import type { JobView as QueueJobView } from '../queue/status.ts';

export interface ServiceOptions {
  /** Installed style packs (the identity/style layer); empty when none are installed. */
  styles?: () => Promise<StyleView[]>;
  /** Where users' uploaded style LoRAs live (default: <data>/user-styles, the workers' store). */
  userStyles?: UserStyleStore;
  /** How long an update id is remembered for deduplication. */
  seenTtlSeconds?: number;
}

const uid = (u: UserRef) => userIdFor(u.platform, u.id);
/** This process, in update claims: another process's unanswered claim means it died. */
const INSTANCE = randomBytes(6).toString('hex');
const groupKey = (prefix: string, chat: ChatRef) => groupRecordKey(prefix, chat.platform, chat.id);

function toView(v: QueueJobView): JobView {
  return {
    id: v.id,
    name: v.name,
    state: v.state,
    ...(v.stage !== undefined ? { stage: v.stage } : {}),
    ...(v.percent !== undefined ? { percent: v.percent } : {}),
    ...(v.preview !== undefined ? { preview: v.preview } : {}),
    ...(v.position !== undefined ? { position: v.position } : {}),
    ...(v.etaSeconds !== undefined ? { etaSeconds: v.etaSeconds } : {}),
    ...(v.error ? { error: v.error } : {}),
  };
}

function styleView(s: UserStyle): UserStyleView {
  return { id: s.id, name: s.name, multiplier: s.multiplier, rank: s.rank, layers: s.layers, bytes: s.bytes };
}

function extOf(name: string): string {
  const m = /\.([A-Za-z0-9]{1,8})$/.exec(name);
  return m ? m[1].toLowerCase() : 'bin';
}

/**
 * Redis or storage failures surface to users as one clear, retryable ServiceError instead of an
 * internal error; errors the job layer already classified pass through unchanged.
 */
function guarded<T extends object>(group: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(group)) {
    out[name] =
      typeof fn !== 'function'
        ? fn
        : (...args: unknown[]) => {
            try {
              const r = fn(...args);
              return r instanceof Promise ? r.catch(unavailable) : r;
            } catch (e) {
              return unavailable(e);
            }
          };
  }
  return out as T;
}

function unavailable(e: unknown): never {
  if (isFacechainError(e)) throw e;
  throw new ServiceError(
    'service_unavailable',
    'The service is busy or unreachable right now. Please try again in a minute.',
    { cause: e },
  );
}

export function producerServices(producer: Producer, opts: ServiceOptions = {}): Services {
  const services = rawServices(producer, opts);
  return {
    profiles: guarded(services.profiles),
    groups: guarded(services.groups),
    uploads: guarded(services.uploads),
    jobs: guarded(services.jobs),
    identities: guarded(services.identities),
    styles: guarded(services.styles),
    voices: guarded(services.voices),
    userStyles: guarded(services.userStyles),
    firstSeen: guarded({ firstSeen: services.firstSeen }).firstSeen,
    claimUpdate: guarded({ claimUpdate: services.claimUpdate }).claimUpdate,
    updateAnswered: guarded({ updateAnswered: services.updateAnswered }).updateAnswered,
  };
}

function rawServices(producer: Producer, opts: ServiceOptions): Services {
  const redis: Redis = producer.redis;
  const prefix = producer.opts.prefix;
  const records = producer.records;
  const userStyles = () => opts.userStyles ?? userStyleStore();

  const profiles: Services['profiles'] = {
    async get(user) {
      const p = await records.getProfile(uid(user));
      if (!p) return {};
      const out: UserProfile = {};
      if (p.locale) out.locale = p.locale;
      if (p.consentVersion) out.consent = { version: p.consentVersion, at: p.consentAt ?? 0 };
      if (typeof p.settings.defaultStyle === 'string') out.defaultStyle = p.settings.defaultStyle;
      if (typeof p.settings.privateDelivery === 'boolean') out.privateDelivery = p.settings.privateDelivery;
      if (p.settings.likenessExplained === true) out.likenessExplained = true;
      return out;
    },
    async update(user, patch) {
      const current = await records.getProfile(uid(user));
      const settings = { ...(current?.settings ?? {}) };
      if (patch.defaultStyle !== undefined) settings.defaultStyle = patch.defaultStyle;
      if (patch.privateDelivery !== undefined) settings.privateDelivery = patch.privateDelivery;
      if (patch.likenessExplained !== undefined) settings.likenessExplained = patch.likenessExplained;
      await records.setProfile(uid(user), { ...(patch.locale ? { locale: patch.locale } : {}), settings });
    },
    async setConsent(user, consent) {
      if (!consent && !(await records.getProfile(uid(user)))) return; // nothing to revoke; create no record
      await records.setProfile(uid(user), { consentVersion: consent?.version, consentAt: consent?.at });
    },
  };

  const groups: Services['groups'] = {
    async get(chat) {
      const [[theme, template, enabled], members] = await Promise.all([
        redis.hmget(groupKey(prefix, chat), 'theme', 'template', 'enabled'),
        redis.smembers(`${groupKey(prefix, chat)}:members`),
      ]);
      return {
        ...(theme ? { theme } : {}),
        ...(template ? { template } : {}),
        ...(enabled === '1' ? { enabled: true } : {}),
        members: members.sort(),
      };
    },
    async setEnabled(chat, on) {
      if (on) await redis.hset(groupKey(prefix, chat), 'enabled', '1');
      else await redis.hdel(groupKey(prefix, chat), 'enabled');
    },
    async setTemplate(chat, ref) {
      await redis.hset(groupKey(prefix, chat), 'template', ref);
    },
    async photoMembers(chat) {
      const key = groupKey(prefix, chat);
      const members = (await redis.smembers(`${key}:members`)).sort();
      const out = [];
      for (const m of members) {
        const name = await redis.hget(`${key}:names`, m);
        // The newest identity with accepted crops (also while its LoRA trains or after that
        // failed), a trained one first, as /portrait picks.
        const usable = (await records.listIdentities(m))
          .filter((i) => i.status !== 'preparing' && i.crops.length > 0)
          .sort((a, b) => a.updatedAt - b.updatedAt);
        const pick = usable.find((i) => i.status === 'trained') ?? usable[usable.length - 1];
        out.push({
          ...(name ? { name } : {}),
          ...(pick
            ? {
                face: {
                  crops: pick.crops,
                  ...(pick.report ? { report: pick.report } : {}),
                  ...(pick.embedding ? { embedding: pick.embedding } : {}),
                },
              }
            : {}),
        });
      }
      return out;
    },
    async setTheme(chat, theme) {
      if (theme) await redis.hset(groupKey(prefix, chat), 'theme', theme);
      else await redis.hdel(groupKey(prefix, chat), 'theme');
    },
    async optIn(chat, user, yes) {
      // The user's side is a user key, so forget finds and removes the membership too.
      const mine = userKey(prefix, uid(user), 'groups');
      const member = `${groupKey(prefix, chat)}:members`;
      const names = `${groupKey(prefix, chat)}:names`;
      if (yes) {
        const tx = redis.multi().sadd(member, uid(user)).sadd(mine, groupKey(prefix, chat));
        if (user.name) tx.hset(names, uid(user), user.name.slice(0, 64));
        await tx.exec();
      } else
        await redis
          .multi()
          .srem(member, uid(user))
          .hdel(names, uid(user))
          .srem(mine, groupKey(prefix, chat))
          .exec();
    },
  };

  const jobs: Services['jobs'] = {
    async enqueue(req) {
      if (!isJobName(req.name)) throw new InputError('unknown_job', `There is no job "${req.name}".`);
      const data = { ...req.data, user: uid(req.user), target: req.replyTarget } as JobInput<JobName>;
      const r = await producer.enqueue(req.name, data, {
        idempotencyKey: jobIdFor(req.user.platform, req.idempotencyKey.replace(/^[a-z]+-/, '')),
        user: uid(req.user),
      });
      return { id: r.id, duplicate: r.duplicate };
    },
    async status(id) {
      const v = await producer.status(id);
      return v ? toView(v) : undefined;
    },
    watch(id, onChange) {
      return producer.watch(id, onChange);
    },
    async cancel(id, user) {
      return producer.cancel(id, uid(user));
    },
    async list(user) {
      return (await producer.listUserJobs(uid(user))).map(toView);
    },
    async forget(user): Promise<ForgetReceipt> {
      const r = await producer.forget(uid(user));
      return { removed: { ...r.removed } };
    },
    async available(name) {
      return isJobName(name) && (await producer.available(name));
    },
    async completed(id, user) {
      const v = await producer.status(id).catch(() => undefined);
      if (!v || v.user !== uid(user) || v.state !== 'completed') return undefined;
      return { name: v.name, result: v.result };
    },
    has(name) {
      return isJobName(name);
    },
    async deleteResults(id, user) {
      let n = 0;
      for (const ref of await jobs.resultImages(id, user)) if (await producer.artifacts.delete(ref)) n++;
      return n;
    },
    async requestOptions(id, user) {
      const job = await producer.findJob(id).catch(() => undefined);
      if (!job || job.data?.user !== uid(user)) return undefined;
      const d = job.data as Record<string, unknown>;
      const str = (k: string) => (typeof d[k] === 'string' ? { [k]: d[k] as string } : {});
      const num = (k: string) => (typeof d[k] === 'number' ? { [k]: d[k] as number } : {});
      return {
        ...str('style'),
        ...str('userStyle'),
        ...num('count'),
        ...str('prompt'),
        ...str('template'),
        ...num('face'),
      };
    },
    async resultImages(id, user) {
      return (await jobs.resultFiles(id, user))?.images ?? [];
    },
    async resultFiles(id, user) {
      const v = await producer.status(id).catch(() => undefined);
      if (!v || v.user !== uid(user) || v.state !== 'completed') return undefined;
      const images = (v.result as { images?: unknown } | undefined)?.images;
      const refs = Array.isArray(images) ? images.filter((x): x is string => typeof x === 'string') : [];
      // The job record outlives its images (delete button, retention): only those still stored
      // count, so a deleted result reads as gone instead of naming an internal file. Touching
      // them is the reuse: the sweep keeps a file touched after it listed the files.
      const kept = await Promise.all(refs.map((r) => producer.artifacts.touch(r).catch(() => false)));
      const missing = refs.filter((_, i) => !kept[i]);
      const expired = missing.length ? (await sweptRefs(producer, uid(user), missing)).size : 0;
      return { images: refs.filter((_, i) => kept[i]), expired, deleted: missing.length - expired };
    },
  };

  return {
    profiles,
    groups,
    jobs,
    uploads: {
      async put(user, name, bytes) {
        return (await producer.artifacts.put(uid(user), bytes, { ext: extOf(name) })).ref;
      },
      async get(ref) {
        return new Uint8Array(await producer.artifacts.read(ref));
      },
    },
    identities: {
      async list(user) {
        return (await records.listIdentities(uid(user)))
          .sort((a, b) => a.updatedAt - b.updatedAt)
          .map((i) => ({ id: i.id, status: i.status, crops: i.crops }));
      },
    },
    styles: { list: opts.styles ?? (async () => []) },
    voices: {
      async list(query, locale) {
        const { listVoices } = await import('../core/speech/index.ts');
        return (await listVoices({ query, ...(locale ? { locale } : {}) })).map((v) => ({
          id: v.id,
          name: `${v.name} (${v.locale})`,
        }));
      },
    },
    // Keyed by the job-layer user id: the generate job and forget use the same key.
    userStyles: {
      async list(user) {
        return (await userStyles().list(uid(user))).map(styleView);
      },
      async add(user, bytes, meta) {
        return styleView(await userStyles().add(uid(user), bytes, meta));
      },
      async remove(user, id) {
        const store = userStyles();
        if (!(await store.list(uid(user))).some((s) => s.id === id)) return false;
        await store.remove(uid(user), id);
        return true;
      },
    },
    async firstSeen(platform, updateId) {
      const key = `${prefix}:seen:${platform}:${updateId}`;
      return (await redis.set(key, '1', 'EX', opts.seenTtlSeconds ?? 86_400, 'NX')) === 'OK';
    },
    async claimUpdate(platform, updateId) {
      const key = `${prefix}:seen:${platform}:${updateId}`;
      const ttl = opts.seenTtlSeconds ?? 86_400;
      return Number(await runScript(redis, SCRIPTS.claimUpdate, 1, key, `p:${INSTANCE}`, ttl)) === 1;
    },
    async updateAnswered(platform, updateId) {
      await redis.set(`${prefix}:seen:${platform}:${updateId}`, 'd', 'KEEPTTL', 'XX');
    },
  };
}
