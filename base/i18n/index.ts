/**
 * Message catalogs and locale resolution. The user's own setting wins, then the platform's
 * locale, then English. Any "zh*" locale maps to Simplified Chinese, the only Chinese catalog.
 *
 * Messages fill `{name}` parameters, and choose plural forms with a small subset of ICU's
 * MessageFormat: `{count, plural, one {# photo} other {# photos}}` picks the branch that
 * `Intl.PluralRules` of the locale names for the number (`=0`-style exact branches first) and
 * writes the number where `#` stands. Chinese has one form, so its catalog needs no plurals.
 */
import { en, type MessageKey } from './en.ts';
import { zhCN } from './zh-CN.ts';

export const LOCALES = ['en', 'zh-CN'] as const;
export type Locale = (typeof LOCALES)[number];

const catalogs: Record<Locale, Record<MessageKey, string>> = { en, 'zh-CN': zhCN };

export function resolveLocale(...candidates: Array<string | undefined>): Locale {
  for (const c of candidates) {
    if (!c) continue;
    const l = c.toLowerCase().replace('_', '-');
    if (l.startsWith('zh')) return 'zh-CN';
    if (l.startsWith('en')) return 'en';
  }
  return 'en';
}

export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(en, key);
}

const pluralRules = new Map<Locale, Intl.PluralRules>();

/** The plural category ('one', 'other', ...) of `n` in `locale`. */
export function pluralCategory(locale: Locale, n: number): Intl.LDMLPluralRule {
  let rules = pluralRules.get(locale);
  if (!rules) {
    rules = new Intl.PluralRules(locale);
    pluralRules.set(locale, rules);
  }
  return rules.select(n);
}

/** `{name, plural, one {…} other {…}}` with branches that hold no braces themselves. */
const PLURAL = /\{(\w+), plural,((?:\s*(?:=\d+|zero|one|two|few|many|other)\s*\{[^{}]*\})+)\s*\}/g;
const BRANCH = /(=\d+|zero|one|two|few|many|other)\s*\{([^{}]*)\}/g;

function plurals(locale: Locale, text: string, params: Record<string, string | number>): string {
  return text.replace(PLURAL, (whole, name: string, body: string) => {
    if (!(name in params)) return whole;
    const n = Number(params[name]);
    const branches = new Map([...body.matchAll(BRANCH)].map((m) => [m[1], m[2]]));
    const chosen =
      branches.get(`=${n}`) ?? branches.get(pluralCategory(locale, n)) ?? branches.get('other') ?? '';
    return chosen.replaceAll('#', String(params[name]));
  });
}

/** The parameters a message uses: `{name}` and the selector of `{name, plural, …}`. */
export function messageParams(text: string): string[] {
  return [...text.matchAll(/\{(\w+)(?:\}|, plural,)/g)].map((m) => m[1]);
}

/** Translate `key`; unknown keys are a programming error and throw so tests catch them. */
export function translate(locale: Locale, key: string, params: Record<string, string | number> = {}): string {
  if (!isMessageKey(key)) throw new Error(`unknown message key "${key}"`);
  const text = plurals(locale, catalogs[locale][key], params);
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

/** Lines of a delivered reply (queue/reply.ts MessagePart), one per line; list items get a bullet. */
export function renderParts(
  locale: Locale,
  parts: ReadonlyArray<{ key: string; params?: Record<string, string | number>; bullet?: boolean }>,
): string {
  return parts.map((p) => (p.bullet ? '• ' : '') + translate(locale, p.key, p.params ?? {})).join('\n');
}
