/**
 * Structured logging (pino). Tokens, token-bearing URLs and image bytes never reach a log line:
 * known secret fields are redacted and binary values are replaced by their length.
 */
import pino, { type Logger } from 'pino';

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

let root: Logger | undefined;
let level: string | undefined;
let levelSource: (() => string) | undefined;
const children = new Map<string, Logger>();

/** core/config.ts registers how to read the level, so the first log line already honours it. */
export function setLogLevelSource(source: () => string): void {
  levelSource = source;
}

/**
 * Set by core/config.ts when it reads FACECHAIN_LOG_LEVEL (this bottom layer reads no settings
 * itself). Loggers made before that are updated too.
 */
export function setLogLevel(next: string): void {
  level = next;
  if (!root) return;
  root.level = next;
  for (const c of children.values()) c.level = next;
}

export function logger(): Logger {
  root ??= pino(
    {
      level: level ?? safeLevel(),
      base: { pid: process.pid },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => scrub(a)) as Parameters<typeof method>);
        },
      },
      serializers: { err: pino.stdSerializers.err },
    },
    pino.destination(2),
  ); // stderr, so command-line JSON on stdout stays clean
  return root;
}

function safeLevel(): string {
  try {
    return levelSource?.() ?? 'info';
  } catch {
    return 'info'; // bad settings are reported by whoever loads them, not by the logger
  }
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
