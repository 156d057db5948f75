/**
 * A command's options are written once, as its zod schema; each field's `.meta()` adds what
 * menus and text commands need (description key, position in a text command, autocomplete).
 * The Discord definitions and the text-command parser are derived from that schema here, so the
 * three cannot disagree (test/bot/options.test.ts checks it on every command).
 */
import type { z } from 'zod';
import { translate } from '../../base/i18n/index.ts';
import type { Command } from './types.ts';

/** What an option field's `.meta()` may say (put `.meta()` last, after `.optional()` / `.default()`). */
export interface OptionMeta {
  /** Message key of its one-line description in menus. */
  describe?: string;
  /** Its place among the bare words of a text command ("/portrait neon 2"); 'rest' takes the rest of the line. */
  positional?: number | 'rest';
  /** Menus suggest values as the user types (styles). */
  autocomplete?: boolean;
  /** Set by buttons only: not offered in menus. */
  hidden?: boolean;
  /** Required in menus although buttons may leave it out. */
  required?: boolean;
  /** Menu choices with their labels, where the schema accepts more spellings. */
  choices?: Array<{ value: string; label: string }>;
}

/** A file the command takes (attachments are not options: they arrive as the invocation's files). */
export interface AttachmentSpec {
  name: string;
  describe: string;
  required?: boolean;
  /** Several files: name1..nameN (Discord allows 25 options per command). */
  count?: number;
}

export type OptionKind = 'string' | 'integer' | 'number' | 'boolean' | 'choice';

export interface OptionInfo {
  name: string;
  kind: OptionKind;
  /** The schema needs it (no default, not optional). */
  required: boolean;
  choices?: string[];
  min?: number;
  max?: number;
  minLength?: number;
  maxLength?: number;
  meta: OptionMeta;
}

// biome-ignore lint/suspicious/noExplicitAny: zod's internal definitions are read structurally here
type Internal = any;

function unwrap(schema: z.ZodType): { inner: Internal; optional: boolean } {
  let t: Internal = schema;
  let optional = false;
  for (;;) {
    const type = t._zod.def.type;
    if (type === 'optional' || type === 'default' || type === 'prefault') {
      optional = true;
      t = t._zod.def.innerType;
    } else if (type === 'pipe') t = t._zod.def.in;
    else return { inner: t, optional };
  }
}

function kindOf(t: Internal): Pick<OptionInfo, 'kind' | 'choices'> {
  const type = t._zod.def.type;
  if (type === 'enum') return { kind: 'choice', choices: [...t.options] };
  if (type === 'number') return { kind: t.isInt ? 'integer' : 'number' };
  if (type === 'boolean') return { kind: 'boolean' };
  if (type === 'union' && t.options.some((o: Internal) => o._zod.def.type === 'boolean'))
    return { kind: 'boolean' };
  return { kind: 'string' };
}

/** A bound the schema states (zod's .int() alone implies the safe-integer range: not a bound). */
const finite = (n: unknown) =>
  typeof n === 'number' && Number.isFinite(n) && Math.abs(n) < Number.MAX_SAFE_INTEGER ? n : undefined;

/** The fields of a command's option schema, with what menus need to know of each. */
export function optionInfo(command: Pick<Command, 'options'>): OptionInfo[] {
  const shape = (command.options as Internal).shape as Record<string, z.ZodType> | undefined;
  if (!shape) return [];
  return Object.entries(shape).map(([name, field]) => {
    const { inner, optional } = unwrap(field);
    const meta = ((field as Internal).meta?.() ?? {}) as OptionMeta;
    return {
      name,
      ...kindOf(inner),
      required: !optional,
      min: finite(inner.minValue),
      max: finite(inner.maxValue),
      minLength: finite(inner.minLength),
      maxLength: finite(inner.maxLength),
      meta,
    };
  });
}

/** Text-command positions: option names in order, "...name" for the one taking the rest. */
export function positionalNames(command: Pick<Command, 'options'>): string[] {
  const out: string[] = [];
  const rest: string[] = [];
  for (const o of optionInfo(command)) {
    if (o.meta.positional === 'rest') rest.push(`...${o.name}`);
    else if (typeof o.meta.positional === 'number') out[o.meta.positional] = o.name;
  }
  return [...out.filter(Boolean), ...rest];
}

/** The attachment option names of a command (photo1..photoN for several). */
export function attachmentNames(a: AttachmentSpec): string[] {
  return a.count ? Array.from({ length: a.count }, (_, i) => `${a.name}${i + 1}`) : [a.name];
}

const DISCORD_TYPE: Record<OptionKind | 'attachment', number> = {
  string: 3,
  choice: 3,
  integer: 4,
  boolean: 5,
  number: 10,
  attachment: 11,
};

/** Discord's application-command option JSON for one command, with zh-CN descriptions. */
export function discordOptions(
  command: Pick<Command, 'options' | 'attachments'>,
): Array<Record<string, unknown>> {
  const describe = (key: string, params: Record<string, string | number> = {}) => ({
    description: translate('en', key, params).slice(0, 100),
    description_localizations: { 'zh-CN': translate('zh-CN', key, params).slice(0, 100) },
  });
  const fields = optionInfo(command)
    .filter((o) => !o.meta.hidden)
    .map((o) => ({
      type: DISCORD_TYPE[o.kind],
      name: o.name,
      ...describe(o.meta.describe ?? `opt.${o.name}`),
      ...(o.meta.required || o.required ? { required: true } : {}),
      ...(o.meta.autocomplete ? { autocomplete: true } : {}),
      ...(o.meta.choices
        ? { choices: o.meta.choices.map((c) => ({ name: c.label, value: c.value })) }
        : o.choices
          ? { choices: o.choices.map((c) => ({ name: c, value: c })) }
          : {}),
      ...(o.kind === 'integer' || o.kind === 'number'
        ? {
            ...(o.min !== undefined ? { min_value: o.min } : {}),
            ...(o.max !== undefined ? { max_value: o.max } : {}),
          }
        : {}),
      ...(o.kind === 'string' && !o.meta.choices && o.maxLength !== undefined
        ? { max_length: o.maxLength }
        : {}),
    }));
  const files = (command.attachments ?? []).flatMap((a) =>
    attachmentNames(a).map((name, i) => ({
      type: DISCORD_TYPE.attachment,
      name,
      ...describe(a.count && i > 0 ? `${a.describe}_more` : a.describe, { n: i + 1 }),
      ...(a.required && i === 0 ? { required: true } : {}),
    })),
  );
  // Discord lists required options first.
  return [...fields, ...files].sort((a, b) => Number(Boolean(b.required)) - Number(Boolean(a.required)));
}
