/**
 * One request to the online read-aloud service over a WebSocket (the `ws` package: the service
 * needs an Origin and User-Agent that a browser-style WebSocket cannot set). Every failure is a
 * ServiceError whose code says what happened, so the caller can retry or fall back and tell the
 * user why.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { CancelledError, ServiceError } from '../../base/errors.ts';
import {
  buildSsml,
  EDGE_WSS_URL,
  edgeHeaders,
  edgeQuery,
  edgeTimestamp,
  parseBinaryFrame,
  parseTextFrame,
  speechConfigFrame,
  ssmlFrame,
  wordBoundaries,
} from './edge-protocol.ts';
import type { SpeechTiming } from './timing.ts';

export interface EdgeRequest {
  /** wss:// URL of the service (tests: a local stand-in). */
  endpoint?: string;
  voice: string;
  /** Cleaned and SSML-escaped text. */
  escapedText: string;
  rate: string;
  pitch: string;
  /** xml:lang of the SSML, the voice's locale. */
  lang: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Correction of this machine's clock, from a previous 403's Date header. */
  clockSkewMs?: number;
}

export interface EdgeAudio {
  /** MP3, 24 kHz mono. */
  mp3: Buffer;
  words: SpeechTiming[];
}

/** Failure codes: tts_rejected (HTTP status on upgrade), tts_unreachable, tts_timeout, tts_dropped, tts_protocol, tts_no_audio. */
export type EdgeFailure =
  | 'tts_rejected'
  | 'tts_unreachable'
  | 'tts_timeout'
  | 'tts_dropped'
  | 'tts_protocol'
  | 'tts_no_audio';

const MAX_AUDIO_BYTES = 16 * 1024 * 1024;
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
]);

function fail(code: EdgeFailure, message: string, context: Record<string, unknown> = {}): ServiceError {
  return new ServiceError(code, `Online speech: ${message}`, { context });
}

export function edgeRequest(r: EdgeRequest): Promise<EdgeAudio> {
  if (r.signal?.aborted) return Promise.reject(new CancelledError());
  return new Promise<EdgeAudio>((resolve, reject) => {
    const url = `${r.endpoint ?? EDGE_WSS_URL}?${edgeQuery(Date.now() + (r.clockSkewMs ?? 0))}`;
    const ws = new WebSocket(url, {
      headers: edgeHeaders(),
      handshakeTimeout: r.timeoutMs + 1000,
      maxPayload: MAX_AUDIO_BYTES,
    });
    const audio: Buffer[] = [];
    const words: SpeechTiming[] = [];
    let audioBytes = 0;
    let started = false;
    let settled = false;

    const finish = (e: Error | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      r.signal?.removeEventListener('abort', onAbort);
      if (e) {
        ws.removeAllListeners('message');
        ws.terminate();
        reject(e);
        return;
      }
      ws.close(1000);
      if (audioBytes === 0) reject(fail('tts_no_audio', 'the service sent no audio.'));
      else resolve({ mp3: Buffer.concat(audio), words });
    };
    const onAbort = () => finish(new CancelledError());
    r.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () =>
        finish(
          fail('tts_timeout', `no complete answer within ${r.timeoutMs} ms.`, { timeoutMs: r.timeoutMs }),
        ),
      r.timeoutMs,
    );

    ws.on('unexpected-response', (req, res) => {
      const status = res.statusCode ?? 0;
      const date = res.headers.date;
      res.resume();
      req.destroy();
      finish(fail('tts_rejected', `the service refused the connection (HTTP ${status}).`, { status, date }));
    });
    ws.on('error', (e: NodeJS.ErrnoException) => {
      const unreachable = e.code !== undefined && UNREACHABLE.has(e.code) && !started;
      finish(
        unreachable
          ? fail('tts_unreachable', `the service cannot be reached (${e.code}).`, { errno: e.code })
          : fail('tts_dropped', `the connection failed (${e.code ?? e.message}).`),
      );
    });
    ws.on('close', (code) => {
      if (!settled)
        finish(
          fail('tts_dropped', `the connection closed before the speech was complete (${code}).`, { code }),
        );
    });
    ws.on('open', () => {
      const ts = edgeTimestamp();
      ws.send(speechConfigFrame(ts));
      const ssml = buildSsml({
        voice: r.voice,
        escapedText: r.escapedText,
        rate: r.rate,
        pitch: r.pitch,
        lang: r.lang,
      });
      ws.send(ssmlFrame(randomUUID().replace(/-/g, ''), ts, ssml));
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        const frame = parseTextFrame(data.toString('utf8'));
        if (!frame) return finish(fail('tts_protocol', 'a text frame without headers.'));
        const path = frame.headers.path;
        if (path === 'turn.start') started = true;
        else if (path === 'turn.end') finish(undefined);
        else if (path === 'audio.metadata') {
          try {
            words.push(...wordBoundaries(frame.body));
          } catch {
            finish(fail('tts_protocol', 'unreadable word boundaries.'));
          }
        }
        // 'response' and other informational frames carry nothing we use.
        return;
      }
      const frame = parseBinaryFrame(data);
      if (!frame) return finish(fail('tts_protocol', 'a binary frame with a bad header.'));
      if (frame.headers.path !== 'audio' || frame.body.length === 0) return;
      audioBytes += frame.body.length;
      if (audioBytes > MAX_AUDIO_BYTES)
        return finish(fail('tts_protocol', 'more audio than any text this long needs.'));
      audio.push(frame.body);
    });
  });
}
