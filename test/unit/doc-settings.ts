/**
 * Reads the settings that documentation states: rows of Markdown tables whose first column names
 * settings (`FACECHAIN_X`, shorthand like `FACECHAIN_HEALTH_PORT` / `_HOST` included) and whose
 * header has a "default" column, and lines of .env.example. Then compares them with
 * core/config.ts, so a renamed setting or a changed default cannot leave a page behind.
 */
import { loadConfig } from '../../core/config.ts';

export interface DocSetting {
  file: string;
  line: number;
  name: string;
  /** The default as written ('' when the row states none). */
  stated: string;
}

const NAME = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/;

function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((c) => c.trim());
}

/**
 * The settings a first cell names: `A`, `B` (two full names); `A`, `_PORT` or `A`/`MAX_FACE`
 * (shorthand: A with its last segments replaced). A full name starts like the one before it.
 */
function expandNames(cell: string): string[] | undefined {
  const tokens = [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
  if (!tokens.length || !NAME.test(tokens[0]!)) return undefined;
  const names = [tokens[0]!];
  for (const t of tokens.slice(1)) {
    const prev = names.at(-1)!.split('_');
    if (NAME.test(t) && t.split('_')[0] === prev[0]) names.push(t);
    else if (/^_?[A-Z0-9]+(_[A-Z0-9]+)*$/.test(t)) {
      const tail = t.replace(/^_/, '').split('_');
      names.push([...prev.slice(0, -tail.length), ...tail].join('_'));
    }
  }
  return names;
}

/** Every documented setting in a Markdown file's settings tables. */
export function settingsInTables(file: string, markdown: string): DocSetting[] {
  const out: DocSetting[] = [];
  const lines = markdown.split('\n');
  let defaultCol = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trim().startsWith('|')) {
      defaultCol = -1;
      continue;
    }
    const row = cells(line);
    const next = lines[i + 1] ?? '';
    if (/^\s*\|[\s:|-]+\|\s*$/.test(next)) {
      // A header row: remember where the default column is.
      defaultCol = row.findIndex((c) => /^default$/i.test(c));
      i++;
      continue;
    }
    if (defaultCol < 0) continue;
    const names = expandNames(row[0] ?? '');
    if (!names) continue;
    const cell = row[defaultCol] ?? '';
    // "`127.0.0.1`, `8443`" or "9464 / 127.0.0.1" for two names: one default each.
    const parts = cell.split(/\s*(?:,|\s\/\s)\s*/);
    for (const [k, name] of names.entries())
      out.push({ file, line: i + 1, name, stated: parts.length === names.length ? parts[k]! : cell });
  }
  return out;
}

/** `# NAME=value` lines of .env.example. */
export function settingsInEnvExample(text: string): DocSetting[] {
  return text.split('\n').flatMap((l, i) => {
    const m = /^#? ?([A-Z][A-Z0-9_]*)=(.*)$/.exec(l);
    return m ? [{ file: '.env.example', line: i + 1, name: m[1]!, stated: m[2]!.trim() }] : [];
  });
}

const UNSET = new Set(['–', '—', '-', 'unset', 'none']);
const UNITS: Record<string, number> = { KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** A stated number: "40 000 000", "268435456 (256 MiB)", "20 MiB". */
function number(text: string): number | undefined {
  const t = text.replace(/\s*\(.*\)$/, '').trim();
  const unit = /^([\d.]+)\s*(KiB|MiB|GiB)$/.exec(t);
  if (unit) return Number(unit[1]) * UNITS[unit[2]!]!;
  const plain = t.replace(/(\d)[\s\u202f_](?=\d{3}\b)/g, '$1');
  return /^-?\d+(\.\d+)?$/.test(plain) ? Number(plain) : undefined;
}

/**
 * Why a stated default disagrees with core/config.ts, or undefined when it agrees. Settings
 * without a fixed default (derived folders, tokens) may be described in words or a dash, but not
 * given a literal value.
 */
export function defaultMismatch(name: string, stated: string, env = false): string | undefined {
  const defaults = loadConfig({}) as unknown as Record<string, unknown>;
  if (!(name in defaults)) return 'no such setting in core/config.ts';
  const want = defaults[name];
  const text = stated.replace(/`/g, '').trim();
  if (text === '') return undefined; // the row states no default
  if (want === undefined) {
    if (env || UNSET.has(text) || !/^(-?[\d.]+|true|false)$/.test(text)) return undefined;
    return `states "${text}", but it has no default`;
  }
  if (typeof want === 'number')
    return number(text) === want ? undefined : `states "${text}", config default is ${want}`;
  if (typeof want === 'boolean')
    return text === String(want) ? undefined : `states "${text}", config default is ${want}`;
  return text === want ? undefined : `states "${text}", config default is "${want}"`;
}
