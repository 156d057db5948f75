/**
 * Message catalogs and locale resolution. The user's own setting wins, then the platform's
 * locale, then English. Any "zh*" locale maps to Simplified Chinese, the only Chinese catalog.
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

/** Translate `key`; unknown keys are a programming error and throw so tests catch them. */
export function translate(locale: Locale, key: string, params: Record<string, string | number> = {}): string {
  if (!isMessageKey(key)) throw new Error(`unknown message key "${key}"`);
  const text = catalogs[locale][key];
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

/** Lines of a delivered reply (queue/reply.ts MessagePart), one per line; list items get a bullet. */
export function renderParts(
  locale: Locale,
  parts: ReadonlyArray<{ key: string; params?: Record<string, string | number>; bullet?: boolean }>,
): string {
  return parts.map((p) => (p.bullet ? '• ' : '') + translate(locale, p.key, p.params ?? {})).join('\n');
}
