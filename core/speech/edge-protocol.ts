/**
 * The wire format of Microsoft Edge's read-aloud speech service (a WebSocket): text frames are
 * "Header:value\r\n...\r\n\r\nbody", binary frames carry a 2-byte big-endian header length, the
 * headers, then audio. A request is a `speech.config` frame and an `ssml` frame; the service
 * answers `turn.start`, `audio.metadata` (word boundaries, in 100 ns ticks), audio frames and
 * `turn.end`. Pure functions, shared by the client and the tests' stand-in server.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { SpeechTiming } from './timing.ts';

export const EDGE_TRUSTED_CLIENT_TOKEN = '6A5AA1D4EAFF4E9FB37E23D68491D6F4';
const EDGE_BASE = 'speech.platform.bing.com/consumer/speech/synthesize/readaloud';
export const EDGE_WSS_URL = `wss://${EDGE_BASE}/edge/v1`;
export const EDGE_VOICES_URL = `https://${EDGE_BASE}/voices/list`;
/** The browser version the service expects to be talking to (it checks Sec-MS-GEC-Version). */
export const EDGE_CHROMIUM_VERSION = '130.0.2849.68';
export const EDGE_OUTPUT_FORMAT = 'audio-24khz-48kbitrate-mono-mp3';

export function edgeHeaders(): Record<string, string> {
  const major = EDGE_CHROMIUM_VERSION.split('.')[0];
  return {
    Pragma: 'no-cache',
    'Cache-Control': 'no-cache',
    Origin: 'chrome-extension://jdiccldimpdaibmpdkjnbmckianbfold',
    'User-Agent': `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 Safari/537.36 Edg/${major}.0.0.0`,
    'Accept-Language': 'en-US,en;q=0.9',
  };
}

/** Windows file-time ticks (100 ns since 1601) of a Unix time in ms. */
const WIN_EPOCH_S = 11_644_473_600;

/**
 * The service's Sec-MS-GEC value: SHA-256 of (file-time ticks rounded down to 5 minutes + the
 * client token), upper-case hex. `nowMs` lets a client correct for its clock's skew.
 */
export function secMsGec(nowMs: number): string {
  let ticks = BigInt(Math.floor(nowMs / 1000) + WIN_EPOCH_S) * 10_000_000n;
  ticks -= ticks % 3_000_000_000n;
  return createHash('sha256')
    .update(`${ticks}${EDGE_TRUSTED_CLIENT_TOKEN}`, 'ascii')
    .digest('hex')
    .toUpperCase();
}

/** Query string of a connection (or of the voice list). */
export function edgeQuery(nowMs: number, connectionId = randomUUID().replace(/-/g, '')): string {
  return (
    `TrustedClientToken=${EDGE_TRUSTED_CLIENT_TOKEN}` +
    `&Sec-MS-GEC=${secMsGec(nowMs)}&Sec-MS-GEC-Version=1-${EDGE_CHROMIUM_VERSION}&ConnectionId=${connectionId}`
  );
}

/** JavaScript-style date, as the browser sends in X-Timestamp. */
export function edgeTimestamp(d = new Date()): string {
  return d.toUTCString().replace('GMT', 'GMT+0000 (Coordinated Universal Time)');
}

export function speechConfigFrame(timestamp: string): string {
  const body = {
    context: {
      synthesis: {
        audio: {
          metadataoptions: { sentenceBoundaryEnabled: 'false', wordBoundaryEnabled: 'true' },
          outputFormat: EDGE_OUTPUT_FORMAT,
        },
      },
    },
  };
  return `X-Timestamp:${timestamp}\r\nContent-Type:application/json; charset=utf-8\r\nPath:speech.config\r\n\r\n${JSON.stringify(body)}\r\n`;
}

/** SSML of one request; `escapedText`, `rate`, `pitch` and `voice` are already validated/escaped. */
export function buildSsml(o: {
  voice: string;
  escapedText: string;
  rate: string;
  pitch: string;
  lang: string;
}): string {
  return (
    `<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang='${o.lang}'>` +
    `<voice name='${o.voice}'><prosody pitch='${o.pitch}' rate='${o.rate}' volume='+0%'>` +
    `${o.escapedText}</prosody></voice></speak>`
  );
}

export function ssmlFrame(requestId: string, timestamp: string, ssml: string): string {
  // The trailing Z after a JavaScript date is what the browser sends.
  return `X-RequestId:${requestId}\r\nContent-Type:application/ssml+xml\r\nX-Timestamp:${timestamp}Z\r\nPath:ssml\r\n\r\n${ssml}`;
}

function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return headers;
}

/** A text frame's headers (lower-case names) and body; undefined when it has no header block. */
export function parseTextFrame(data: string): { headers: Record<string, string>; body: string } | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  return { headers: parseHeaders(data.slice(0, end)), body: data.slice(end + 4) };
}

/** A binary frame's headers and payload; undefined when its header length is impossible. */
export function parseBinaryFrame(
  data: Buffer,
): { headers: Record<string, string>; body: Buffer } | undefined {
  if (data.length < 2) return undefined;
  const len = data.readUInt16BE(0);
  if (data.length < 2 + len) return undefined;
  return { headers: parseHeaders(data.subarray(2, 2 + len).toString('utf8')), body: data.subarray(2 + len) };
}

/** A binary frame as the service sends it (the tests' stand-in builds its answers with this). */
export function binaryFrame(headers: string, body: Uint8Array): Buffer {
  const h = Buffer.from(headers, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(h.length);
  return Buffer.concat([len, h, body]);
}

const TICKS_PER_S = 10_000_000;

/** Word boundaries from an `audio.metadata` body (other metadata kinds are ignored). */
export function wordBoundaries(body: string): SpeechTiming[] {
  const json = JSON.parse(body) as { Metadata?: { Type?: string; Data?: Record<string, unknown> }[] };
  const out: SpeechTiming[] = [];
  for (const m of json.Metadata ?? []) {
    if (m.Type !== 'WordBoundary' || !m.Data) continue;
    const offset = Number(m.Data.Offset);
    const duration = Number(m.Data.Duration);
    const text = (m.Data.text as { Text?: unknown } | undefined)?.Text;
    if (!Number.isFinite(offset) || !Number.isFinite(duration) || typeof text !== 'string') continue;
    out.push({ start: offset / TICKS_PER_S, end: (offset + duration) / TICKS_PER_S, text, kind: 'word' });
  }
  return out;
}
