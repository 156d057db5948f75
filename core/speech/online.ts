/**
 * The online voice: requests to the read-aloud service under one deadline, retried with
 * exponential backoff and jitter, behind a circuit breaker; and the service's voice list.
 */
import { CancelledError, type FacechainError, ServiceError } from '../../base/errors.ts';
import { log } from '../../base/log.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { type EdgeAudio, edgeRequest } from './edge-client.ts';
import { EDGE_VOICES_URL, edgeHeaders, edgeQuery } from './edge-protocol.ts';
import { parseServiceVoiceList, type VoiceInfo } from './voices.ts';

export interface OnlineVoiceOptions {
  /** wss:// URL of the service; default the real one. */
  endpoint?: string;
  /** https:// URL of its voice list. */
  voicesUrl?: string;
  /** Deadline of one synthesis, all attempts together (FACECHAIN_TTS_TIMEOUT_MS). */
  timeoutMs: number;
  /** Attempts after the first (default 2). */
  retries?: number;
  /** First backoff delay (default 300 ms), doubled each retry, with jitter. */
  backoffMs?: number;
  breaker?: CircuitBreaker;
}

export interface OnlineRequest {
  voice: string;
  escapedText: string;
  rate: string;
  pitch: string;
  lang: string;
  signal?: AbortSignal;
}

/** A 403 whose Date header is this far from our clock means our Sec-MS-GEC was for the wrong time. */
const SKEW_MS = 60_000;
const VOICE_LIST_TTL_MS = 24 * 3600 * 1000;
const VOICE_LIST_RETRY_MS = 10 * 60 * 1000;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new CancelledError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export class OnlineVoice {
  readonly breaker: CircuitBreaker;
  private clockSkewMs = 0;
  private voiceList: { at: number; voices?: VoiceInfo[] } | undefined;

  constructor(private readonly o: OnlineVoiceOptions) {
    this.breaker = o.breaker ?? new CircuitBreaker();
  }

  /**
   * Synthesize, or throw: ServiceError 'tts_circuit_open' without trying while the breaker is
   * open, otherwise the last attempt's error (edge-client.ts codes).
   */
  async synthesize(r: OnlineRequest): Promise<EdgeAudio> {
    if (!this.breaker.tryAcquire())
      throw new ServiceError('tts_circuit_open', 'Online speech: paused after repeated failures.', {
        context: { retryInMs: this.breaker.retryInMs() },
      });
    const deadline = Date.now() + this.o.timeoutMs;
    const retries = this.o.retries ?? 2;
    let skewRetried = false;
    let last: FacechainError | undefined;
    for (let attempt = 0; attempt <= retries; attempt++) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        const audio = await edgeRequest({
          ...r,
          ...(this.o.endpoint ? { endpoint: this.o.endpoint } : {}),
          timeoutMs: left,
          clockSkewMs: this.clockSkewMs,
        });
        this.breaker.success();
        return audio;
      } catch (e) {
        if (e instanceof CancelledError) {
          this.breaker.release();
          throw e;
        }
        last = e as FacechainError;
        log('speech').info({ code: last.code, attempt }, 'online speech attempt failed');
        if (last.code === 'tts_timeout') break;
        if (last.code === 'tts_rejected') {
          const status = Number(last.context.status);
          // 403 with a server clock far from ours: redo the token for the server's time, once.
          const serverMs = Date.parse(String(last.context.date ?? ''));
          if (
            status === 403 &&
            !skewRetried &&
            Number.isFinite(serverMs) &&
            Math.abs(serverMs - Date.now()) > SKEW_MS
          ) {
            this.clockSkewMs = serverMs - Date.now();
            skewRetried = true;
            attempt--;
            continue;
          }
          if (status !== 429 && status < 500) break; // refused for good: retrying cannot help
        }
        if (attempt < retries) {
          const base = (this.o.backoffMs ?? 300) * 2 ** attempt;
          const wait = Math.min(base * (0.5 + Math.random() * 0.5), deadline - Date.now());
          if (wait > 0)
            await sleep(wait, r.signal).catch((c) => {
              this.breaker.release();
              throw c;
            });
        }
      }
    }
    this.breaker.failure();
    throw (
      last ??
      new ServiceError('tts_timeout', `Online speech: no complete answer within ${this.o.timeoutMs} ms.`, {
        context: { timeoutMs: this.o.timeoutMs },
      })
    );
  }

  /**
   * The service's voice list (cached a day); undefined when it cannot be fetched (then not
   * asked again for ten minutes).
   */
  async voices(): Promise<VoiceInfo[] | undefined> {
    const now = Date.now();
    const cached = this.voiceList;
    if (cached && now - cached.at < (cached.voices ? VOICE_LIST_TTL_MS : VOICE_LIST_RETRY_MS))
      return cached.voices;
    if (this.breaker.state === 'open') return undefined;
    try {
      const url = `${this.o.voicesUrl ?? EDGE_VOICES_URL}?${edgeQuery(now + this.clockSkewMs)}`;
      const res = await fetch(url, {
        headers: edgeHeaders(),
        signal: AbortSignal.timeout(Math.min(this.o.timeoutMs, 10_000)),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const voices = parseServiceVoiceList(await res.json());
      // An empty list is no list: cached, it would hide every online voice for a day.
      if (voices.length === 0) throw new Error('empty voice list');
      this.voiceList = { at: now, voices };
      return voices;
    } catch (e) {
      log('speech').warn({ err: (e as Error).message }, 'voice list not available; using the built-in list');
      this.voiceList = { at: now };
      return undefined;
    }
  }
}
