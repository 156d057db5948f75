/**
 * Job payloads are stored in clear text in Redis and copied into logs and metrics labels, so they
 * may carry references, ids and options only. This guard walks any payload and refuses what looks
 * like bytes or secrets: URLs (Telegram file URLs embed the bot token), data: URIs, long base64
 * or hex runs, binary buffers, and fields named like secrets.
 */
const URL_RE = /[a-z][a-z0-9+.-]*:\/\//i;
const DATA_URI_RE = /^\s*data:/i;
const BOT_TOKEN_RE = /\bbot\d+:[A-Za-z0-9_-]{20,}/;
const LONG_BLOB_RE = /[A-Za-z0-9+/_=-]{200,}/;
const SECRET_KEY_RE = /token|secret|password|authorization|api_?key|cookie/i;
const MAX_STRING = 4000;

/** The first problem found, as "<path>: <what>", or undefined when the payload is clean. */
export function findUnsafe(value: unknown, at = 'data', depth = 0): string | undefined {
  if (depth > 12) return `${at}: nested too deeply`;
  if (typeof value === 'string') {
    if (DATA_URI_RE.test(value)) return `${at}: data: URIs are not allowed (store the file, pass its ref)`;
    if (URL_RE.test(value) || BOT_TOKEN_RE.test(value))
      return `${at}: URLs are not allowed in job data (store the file, pass its ref)`;
    if (LONG_BLOB_RE.test(value)) return `${at}: looks like encoded bytes (store the file, pass its ref)`;
    if (value.length > MAX_STRING) return `${at}: text longer than ${MAX_STRING} characters`;
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer)
    return `${at}: bytes are not allowed in job data (store the file, pass its ref)`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = findUnsafe(value[i], `${at}[${i}]`, depth + 1);
      if (p) return p;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_KEY_RE.test(k)) return `${at}.${k}: secrets are not allowed in job data`;
    const p = findUnsafe(v, `${at}.${k}`, depth + 1);
    if (p) return p;
  }
  return undefined;
}
