/**
 * Human-readable log lines for a terminal: `12:03:04.123 WARN  redis: message key=value`, with
 * an error's message (and, from level error up, its stack) on the lines after. Machines reading
 * a pipe or a file get pino's JSON instead (base/log.ts decides).
 */

const LEVELS: Record<number, { name: string; color: number }> = {
  10: { name: 'TRACE', color: 90 },
  20: { name: 'DEBUG', color: 90 },
  30: { name: 'INFO', color: 36 },
  40: { name: 'WARN', color: 33 },
  50: { name: 'ERROR', color: 31 },
  60: { name: 'FATAL', color: 31 },
};

/** Fields shown in the line's head, or not at all (pid and hostname say nothing on a terminal). */
const HEAD = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'module', 'err']);

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** One pino JSON line → one or more terminal lines (ending in a newline). */
export function prettyLine(json: string, color = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json);
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const level = LEVELS[o.level as number] ?? { name: String(o.level), color: 0 };
  const name = level.name.padEnd(5);
  const head = [
    typeof o.time === 'number' ? clock(o.time) : '',
    color ? `\x1b[${level.color}m${name}\x1b[0m` : name,
    o.module ? `${o.module}:` : '',
    typeof o.msg === 'string' ? o.msg : '',
  ]
    .filter(Boolean)
    .join(' ');
  const fields = Object.entries(o)
    .filter(([k]) => !HEAD.has(k))
    .map(([k, v]) => `${k}=${value(v)}`);
  let out = [head, ...fields].join(' ');
  const err = o.err as { type?: string; message?: string; stack?: string; code?: string } | undefined;
  if (err) {
    out += `\n    ${err.type ?? 'Error'}: ${err.message ?? ''}${err.code ? ` [${err.code}]` : ''}`;
    if ((o.level as number) >= 50 && err.stack)
      out += `\n${err.stack
        .split('\n')
        .slice(1)
        .map((l) => `    ${l.trim()}`)
        .join('\n')}`;
  }
  return `${out}\n`;
}
