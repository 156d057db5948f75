/**
 * Structured logging (pino) on stderr: JSON when stderr is a pipe or a file (for collectors),
 * human-readable lines on a terminal (FACECHAIN_LOG_FORMAT overrides). Tokens, token-bearing URLs
 * and image bytes never reach a log line: known secret fields are redacted and binary values are
 * replaced by their length.
 */
import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import pino, { type DestinationStream, type Logger } from 'pino';
import { prettyLine } from './log-pretty.ts';

const SECRET_KEYS = ['token', 'botToken', 'authorization', 'password', 'secret', 'apiKey'];

/** Telegram file URLs embed the bot token (/file/bot<token>/...); Discord webhooks embed theirs. */
export function redactUrl(text: string): string {
  return text
    .replace(/\/bot\d+:[A-Za-z0-9_-]+/g, '/bot<redacted>')
    .replace(/(\/webhooks\/\d+\/)[A-Za-z0-9_-]+/g, '$1<redacted>');
}

/** Replace binary payloads and secrets in anything about to be logged. */
export function scrub(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[deep]';
  if (typeof value === 'string') return redactUrl(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return value;
  if (ArrayBuffer.isView(value)) return `<${value.byteLength} bytes>`;
  if (value instanceof ArrayBuffer) return `<${value.byteLength} bytes>`;
  if (Array.isArray(value))
    return value.length > 50 ? `<array of ${value.length}>` : value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEYS.some((s) => k.toLowerCase().includes(s.toLowerCase()))
      ? '<redacted>'
      : scrub(v, depth + 1);
  }
  return out;
}

/** JSON for machines, lines for people: 'auto' picks by whether stderr is a terminal. */
export function logFormat(setting: 'auto' | 'json' | 'pretty', isTTY: boolean): 'json' | 'pretty' {
  return setting === 'auto' ? (isTTY ? 'pretty' : 'json') : setting;
}

/** Where log lines go: fd 2 (stderr), so command-line results on stdout stay clean. */
function destination(format: 'json' | 'pretty'): DestinationStream {
  if (format === 'json') return pino.destination(2);
  const color = isatty(2) && !process.env.NO_COLOR;
  // Written synchronously, like pino.destination's default, so no line is lost at exit.
  return { write: (line: string) => void writeSync(2, prettyLine(line, color)) };
}

type LogSettings = { level: string; format: 'auto' | 'json' | 'pretty' };

let root: Logger | undefined;
let settings: (() => LogSettings) | undefined;
const children = new Map<string, Logger>();

/**
 * core/config.ts registers how to read FACECHAIN_LOG_LEVEL and FACECHAIN_LOG_FORMAT (this bottom
 * layer reads no settings itself), so the first log line already honours them.
 */
export function setLogSettingsSource(source: () => LogSettings): void {
  settings = source;
}

/** A changed level (core/config.ts after reading it) reaches loggers made before. */
export function setLogLevel(next: string): void {
  if (!root) return;
  root.level = next;
  for (const c of children.values()) c.level = next;
}

function current(): LogSettings {
  try {
    return settings?.() ?? { level: 'info', format: 'auto' };
  } catch {
    return { level: 'info', format: 'auto' }; // bad settings are reported by whoever loads them
  }
}

export function logger(): Logger {
  const s = root ? undefined : current();
  root ??= pino(
    {
      level: s?.level ?? 'info',
      base: { pid: process.pid },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => scrub(a)) as Parameters<typeof method>);
        },
      },
      serializers: { err: pino.stdSerializers.err },
    },
    // fd 2 itself, not process.stderr, so worker threads (whose stderr is a pipe to the main
    // thread) choose the same format as the main thread.
    destination(logFormat(s?.format ?? 'auto', isatty(2))),
  );
  return root;
}

/** A child logger for one module, e.g. log('models'). */
export function log(module: string): Logger {
  let child = children.get(module);
  if (!child) {
    child = logger().child({ module });
    children.set(module, child);
  }
  return child;
}
