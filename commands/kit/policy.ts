/**
 * What an operator allows on their deployment, checked by the dispatcher before any work: users
 * and chats they banned, words refused in anything a user writes, whether group chats must opt
 * in to group features, and whether users may upload style LoRAs. Read from the settings once
 * (core/config.ts); front-ends and tests may pass their own.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../base/errors.ts';
import { type Config, config } from '../../core/config.ts';
import type { Invocation } from './types.ts';

export interface Policy {
  /** "platform:id" of users who are refused everything. */
  bannedUsers: ReadonlySet<string>;
  /** "platform:id" of chats (groups, servers, channels) where the bot answers nothing but a refusal. */
  bannedChats: ReadonlySet<string>;
  /** Lower-case words or phrases refused in any text a user gives (options, prompts, names). */
  blocklist: readonly string[];
  /** 'opt-in': in a group, group features work only after an administrator turned them on. */
  groups: 'opt-in' | 'open';
  /** Users may upload their own style LoRAs (/mystyle). */
  userStyles: boolean;
}

/** "telegram:123, discord:456" → the set of those keys (platform names lower-case). */
export function parseIdList(list: string | undefined, setting: string): Set<string> {
  const out = new Set<string>();
  for (const raw of (list ?? '').split(/[,\s]+/)) {
    if (!raw) continue;
    const m = /^([a-z]{2,8}):([A-Za-z0-9_@.-]{1,64})$/.exec(raw.trim());
    if (!m)
      throw new ConfigError(
        'bad_id_list',
        `${setting}: "${raw}" is not platform:id (for example telegram:12345 or discord:80351110224678912).`,
      );
    out.add(`${m[1]}:${m[2]}`);
  }
  return out;
}

/** Words from the setting (comma-separated) and the file (one per line, # comments). */
export function blocklistFrom(list: string | undefined, file: string | undefined): string[] {
  const words = (list ?? '').split(',');
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(
        'bad_blocklist_file',
        `FACECHAIN_PROMPT_BLOCKLIST_FILE: cannot read ${file} (${(e as Error).message}).`,
      );
    }
    words.push(...text.split('\n').filter((l) => !l.trim().startsWith('#')));
  }
  return [...new Set(words.map(normalize).filter(Boolean))];
}

export function policyFromConfig(cfg: Config = config()): Policy {
  return {
    bannedUsers: parseIdList(cfg.FACECHAIN_BANNED_USERS, 'FACECHAIN_BANNED_USERS'),
    bannedChats: parseIdList(cfg.FACECHAIN_BANNED_CHATS, 'FACECHAIN_BANNED_CHATS'),
    blocklist: blocklistFrom(cfg.FACECHAIN_PROMPT_BLOCKLIST, cfg.FACECHAIN_PROMPT_BLOCKLIST_FILE),
    groups: cfg.FACECHAIN_GROUP_FEATURES,
    userStyles: cfg.FACECHAIN_USER_STYLES_ENABLED,
  };
}

let current: Policy | undefined;

/** The deployment's policy from its settings, read once. */
export function defaultPolicy(): Policy {
  current ??= policyFromConfig();
  return current;
}

/** A policy allowing everything (tests of other features, tools). */
export const OPEN_POLICY: Policy = {
  bannedUsers: new Set(),
  bannedChats: new Set(),
  blocklist: [],
  groups: 'open',
  userStyles: true,
};

export function isBanned(
  p: Policy,
  who: {
    user: Pick<Invocation['user'], 'platform' | 'id'>;
    chat?: Pick<Invocation['chat'], 'platform' | 'id'>;
  },
): boolean {
  if (p.bannedUsers.has(`${who.user.platform}:${who.user.id}`)) return true;
  return who.chat !== undefined && p.bannedChats.has(`${who.chat.platform}:${who.chat.id}`);
}

/** Full-width letters, accents and case folded, so "ＮＳＦＷ" and "Nsfw" read as "nsfw". */
function normalize(s: string): string {
  return s.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * The first blocked word or phrase in `texts`, if any. Latin words match whole words (so
 * "class" does not match "ass"); words in other scripts (Chinese has no spaces) match anywhere.
 */
export function blockedWord(p: Policy, texts: readonly string[]): string | undefined {
  if (p.blocklist.length === 0) return undefined;
  const hay = texts.map(normalize).join('\n');
  for (const w of p.blocklist) {
    const latin = /^[\p{Script=Latin}\d\s'-]+$/u.test(w);
    if (!latin) {
      if (hay.includes(w)) return w;
      continue;
    }
    const re = new RegExp(`(?<![\\p{L}\\d])${w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\p{L}\\d])`, 'u');
    if (re.test(hay)) return w;
  }
  return undefined;
}

/** Every string a user wrote into the options (nested values included). */
export function textsOf(options: unknown): string[] {
  if (typeof options === 'string') return [options];
  if (Array.isArray(options)) return options.flatMap(textsOf);
  if (options && typeof options === 'object') return Object.values(options).flatMap(textsOf);
  return [];
}
