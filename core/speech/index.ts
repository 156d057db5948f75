/**
 * Speech for talking portraits: the online neural voice when it is enabled and answering, the
 * offline eSpeak NG voice otherwise, with the reason recorded so the reply can say so.
 * docs/talk.md "Speech".
 */

import { CancelledError, type FacechainError, InputError } from '../../base/errors.ts';
import { log } from '../../base/log.ts';
import { decodeAudio } from '../audio/decode.ts';
import type { Pcm } from '../audio/pcm.ts';
import { config } from '../config.ts';
import type { MediaTools } from '../media/ffmpeg.ts';
import { SpeechCache, speechCacheKey } from './cache.ts';
import type { EdgeAudio } from './edge-client.ts';
import { EDGE_OUTPUT_FORMAT } from './edge-protocol.ts';
import { espeakPhonemes, espeakSpeak } from './espeak.ts';
import { OnlineVoice } from './online.ts';
import { escapeSsml, parsePitch, parseRate, prepareText } from './text.ts';
import { mergeTimings, type SpeechTiming, spreadPhonemes } from './timing.ts';
import {
  BUILTIN_ONLINE_VOICES,
  DEFAULT_VOICES,
  espeakVoiceFor,
  filterVoices,
  OFFLINE_VOICES,
  parseVoice,
  type SpeechLocale,
  type VoiceInfo,
} from './voices.ts';

export type { SpeechTiming } from './timing.ts';
export { DEFAULT_VOICES, type SpeechLocale, type VoiceInfo } from './voices.ts';

/** Why the offline voice spoke instead of the online one (message keys talk.voice_fallback.<reason>). */
export const FALLBACK_REASONS = [
  'disabled',
  'circuit_open',
  'timeout',
  'rejected',
  'unreachable',
  'dropped',
  'failed',
] as const;
export type FallbackReason = (typeof FALLBACK_REASONS)[number];

export interface Speech {
  audio: Pcm;
  /** The voice that spoke (`espeak:<voice>` for the offline one). */
  voice: string;
  engine: 'edge' | 'espeak';
  /** Words (and phonemes, estimated inside each word) in time order, when known. */
  timing?: SpeechTiming[];
  /** Set when the offline voice stood in for the online one: `reason` is a FallbackReason. */
  fallback?: { reason: FallbackReason; message: string };
}

export interface SynthesizeOptions {
  voice?: string;
  locale?: SpeechLocale;
  /** "+10%" .. "-50%" .. "+100%". */
  rate?: string;
  /** "+5Hz", from -50Hz to +50Hz. */
  pitch?: string;
  /** Use the offline voice (asked for: no fallback is reported). */
  offline?: boolean;
  signal?: AbortSignal;
  /** Output sample rate (default 24000, the online voice's own). */
  sampleRate?: number;
  /** Keep the online voice's answer in this user's cache folder (erased with the user). */
  cacheScope?: string;
}

export interface SpeechServiceOptions {
  /** Whether the online voice may be used (FACECHAIN_TTS_ONLINE). */
  online: boolean;
  onlineVoice: OnlineVoice;
  maxText: number;
  cache?: SpeechCache;
  espeakExe?: string;
  tools?: MediaTools;
}

const REASONS: Record<string, FallbackReason> = {
  tts_circuit_open: 'circuit_open',
  tts_timeout: 'timeout',
  tts_rejected: 'rejected',
  tts_unreachable: 'unreachable',
  tts_dropped: 'dropped',
};

const LOCALES: readonly SpeechLocale[] = ['en', 'zh-CN'];

/** How long autocomplete waits for the online voice list (Discord allows 3 s in all). */
export const VOICE_LIST_WAIT_MS = 1500;

export class SpeechService {
  constructor(readonly o: SpeechServiceOptions) {}

  async synthesize(text: string, o: SynthesizeOptions = {}): Promise<Speech> {
    const clean = prepareText(text, this.o.maxText);
    const rate = parseRate(o.rate);
    const pitch = parsePitch(o.pitch);
    const locale = o.locale ?? 'en';
    if (!LOCALES.includes(locale))
      throw new InputError(
        'bad_locale',
        `Unknown speech language "${String(locale).slice(0, 20)}": use en or zh-CN.`,
      );
    const voice = parseVoice(o.voice ?? DEFAULT_VOICES[locale]);
    const sampleRate = o.sampleRate ?? 24_000;
    const offline = (espeakVoice: string, fallback?: Speech['fallback']) =>
      this.offline(clean, espeakVoice, rate.percent, pitch.hz, sampleRate, o.signal, fallback);

    if (voice.engine === 'espeak') return offline(voice.espeak);
    if (o.offline) return offline(espeakVoiceFor(voice.locale));
    if (!this.o.online)
      return offline(espeakVoiceFor(voice.locale), {
        reason: 'disabled',
        message: 'The online voice is turned off on this server (FACECHAIN_TTS_ONLINE).',
      });
    try {
      const key = speechCacheKey({
        voice: voice.id,
        text: clean,
        rate: rate.text,
        pitch: pitch.text,
        format: EDGE_OUTPUT_FORMAT,
      });
      const cache = o.cacheScope ? this.o.cache?.scoped(o.cacheScope) : this.o.cache;
      const cached: EdgeAudio | undefined = await cache?.get(key);
      let edge = cached;
      if (!edge) {
        edge = await this.o.onlineVoice.synthesize({
          voice: voice.id,
          escapedText: escapeSsml(clean),
          rate: rate.text,
          pitch: pitch.text,
          lang: voice.locale,
          ...(o.signal ? { signal: o.signal } : {}),
        });
      }
      const audio = await decodeAudio(edge.mp3, {
        maxSeconds: 3600,
        targetRate: sampleRate,
        ...(o.signal ? { signal: o.signal } : {}),
        ...(this.o.tools ? { tools: this.o.tools } : {}),
      });
      // Cached only once it decoded: a damaged answer must not be served again.
      if (!cached) await cache?.put(key, edge);
      const timing = await this.onlineTiming(edge.words, espeakVoiceFor(voice.locale), o.signal);
      return { audio, voice: voice.id, engine: 'edge', ...(timing ? { timing } : {}) };
    } catch (e) {
      if (e instanceof CancelledError) throw e;
      const err = e as FacechainError;
      const reason = REASONS[err.code] ?? 'failed';
      log('speech').warn({ code: err.code, reason }, 'online voice failed; using the offline voice');
      return offline(espeakVoiceFor(voice.locale), { reason, message: err.message });
    }
  }

  /**
   * Voices for autocomplete: the service's list when it answers (else the built-in one), then the
   * offline voices. Autocomplete must answer within Discord's 3 s, so a list that takes longer
   * than VOICE_LIST_WAIT_MS is not waited for: the built-in list answers, and the fetch goes on
   * and fills the cache for the next time.
   */
  async listVoices(o: { locale?: string; query?: string } = {}): Promise<VoiceInfo[]> {
    let online: VoiceInfo[] = [];
    if (this.o.online) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<undefined>((resolve) => {
        timer = setTimeout(resolve, VOICE_LIST_WAIT_MS, undefined);
      });
      online = (await Promise.race([this.o.onlineVoice.voices(), late])) ?? BUILTIN_ONLINE_VOICES;
      clearTimeout(timer);
    }
    return filterVoices([...online, ...OFFLINE_VOICES], o);
  }

  private async offline(
    text: string,
    espeakVoice: string,
    ratePercent: number,
    pitchHz: number,
    sampleRate: number,
    signal: AbortSignal | undefined,
    fallback: Speech['fallback'] | undefined,
  ): Promise<Speech> {
    const r = await espeakSpeak(text, {
      voice: espeakVoice,
      ratePercent,
      pitchHz,
      sampleRate,
      timing: true,
      ...(signal ? { signal } : {}),
      ...(this.o.espeakExe ? { exe: this.o.espeakExe } : {}),
    });
    return {
      audio: r.audio,
      voice: `espeak:${espeakVoice}`,
      engine: 'espeak',
      ...(r.timing ? { timing: r.timing } : {}),
      ...(fallback ? { fallback } : {}),
    };
  }

  /** The service's word boundaries, with phonemes from eSpeak NG's pronunciation of each word where it is installed. */
  private async onlineTiming(
    words: SpeechTiming[],
    espeakVoice: string,
    signal: AbortSignal | undefined,
  ): Promise<SpeechTiming[] | undefined> {
    if (words.length === 0) return undefined;
    const phonemes = await espeakPhonemes(
      words.map((w) => w.text),
      {
        voice: espeakVoice,
        ...(signal ? { signal } : {}),
        ...(this.o.espeakExe ? { exe: this.o.espeakExe } : {}),
      },
    ).catch((e) => {
      if (e instanceof CancelledError) throw e;
      return undefined;
    });
    if (!phonemes) return words;
    return mergeTimings(
      words,
      words.flatMap((w, i) => spreadPhonemes(w, phonemes[i]!)),
    );
  }
}

let service: SpeechService | undefined;

/** The process-wide speech service, configured from the settings. */
export function speechService(): SpeechService {
  if (!service) {
    const c = config();
    service = new SpeechService({
      online: c.FACECHAIN_TTS_ONLINE,
      onlineVoice: new OnlineVoice({ timeoutMs: c.FACECHAIN_TTS_TIMEOUT_MS }),
      maxText: c.FACECHAIN_TALK_MAX_TEXT,
      cache: new SpeechCache(c.speechCacheDir, c.FACECHAIN_TTS_CACHE_MB * 1024 * 1024),
    });
  }
  return service;
}

/** Speak `text`; see SpeechService.synthesize. */
export function synthesize(text: string, o: SynthesizeOptions = {}): Promise<Speech> {
  return speechService().synthesize(text, o);
}

/** Voices for the `voice` option's autocomplete. */
export function listVoices(o: { locale?: string; query?: string } = {}): Promise<VoiceInfo[]> {
  return speechService().listVoices(o);
}
