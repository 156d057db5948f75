/**
 * Voice ids and the list behind the `voice` option's autocomplete. Online voices are the read-aloud
 * service's neural voices (its own list when it answers, this built-in one otherwise); offline
 * voices are eSpeak NG's, named `espeak:<voice>`.
 */
import { InputError } from '../../base/errors.ts';

export interface VoiceInfo {
  id: string;
  locale: string;
  gender?: string;
  name: string;
}

export type SpeechLocale = 'en' | 'zh-CN';

/** Default voices per locale (zh-CN as FaceChain's talking-head demo). */
export const DEFAULT_VOICES: Record<SpeechLocale, string> = {
  en: 'en-US-AriaNeural',
  'zh-CN': 'zh-CN-XiaoxiaoNeural',
};

/** Offline voices for a language: eSpeak NG reads Chinese characters correctly only in its pinyin voice. */
export const ESPEAK_VOICES: Record<string, string> = {
  en: 'en-us',
  'en-US': 'en-us',
  'en-GB': 'en-gb',
  zh: 'cmn-latn-pinyin',
  'zh-CN': 'cmn-latn-pinyin',
  'zh-TW': 'cmn-latn-pinyin',
  'zh-HK': 'yue',
  fr: 'fr',
  de: 'de',
  es: 'es',
  it: 'it',
  pt: 'pt',
  ru: 'ru',
  ja: 'ja',
  ko: 'ko',
};

const OFFLINE: VoiceInfo[] = [
  { id: 'espeak:en-us', locale: 'en-US', name: 'eSpeak NG English (US), offline' },
  { id: 'espeak:en-gb', locale: 'en-GB', name: 'eSpeak NG English (UK), offline' },
  { id: 'espeak:cmn-latn-pinyin', locale: 'zh-CN', name: 'eSpeak NG 普通话, offline' },
  { id: 'espeak:yue', locale: 'zh-HK', name: 'eSpeak NG 粵語, offline' },
];

const v = (id: string, gender: 'Female' | 'Male'): VoiceInfo => {
  const m = /^([a-z]{2,3}-[A-Z]{2}(?:-[a-z]+)?)-(.+)Neural$/.exec(id)!;
  return { id, locale: m[1]!, gender, name: `${m[2]} (${m[1]})` };
};

/**
 * Built-in list of the service's voices for the bot's languages, used when its own list cannot be
 * fetched (the ids are the service's ShortName values).
 */
export const BUILTIN_ONLINE_VOICES: VoiceInfo[] = [
  v('en-US-AriaNeural', 'Female'),
  v('en-US-JennyNeural', 'Female'),
  v('en-US-AnaNeural', 'Female'),
  v('en-US-EmmaNeural', 'Female'),
  v('en-US-MichelleNeural', 'Female'),
  v('en-US-AvaNeural', 'Female'),
  v('en-US-GuyNeural', 'Male'),
  v('en-US-AndrewNeural', 'Male'),
  v('en-US-BrianNeural', 'Male'),
  v('en-US-ChristopherNeural', 'Male'),
  v('en-US-EricNeural', 'Male'),
  v('en-US-RogerNeural', 'Male'),
  v('en-US-SteffanNeural', 'Male'),
  v('en-GB-SoniaNeural', 'Female'),
  v('en-GB-LibbyNeural', 'Female'),
  v('en-GB-MaisieNeural', 'Female'),
  v('en-GB-RyanNeural', 'Male'),
  v('en-GB-ThomasNeural', 'Male'),
  v('en-AU-NatashaNeural', 'Female'),
  v('en-AU-WilliamNeural', 'Male'),
  v('en-CA-ClaraNeural', 'Female'),
  v('en-CA-LiamNeural', 'Male'),
  v('en-IN-NeerjaNeural', 'Female'),
  v('en-IN-PrabhatNeural', 'Male'),
  v('en-IE-EmilyNeural', 'Female'),
  v('en-NZ-MollyNeural', 'Female'),
  v('zh-CN-XiaoxiaoNeural', 'Female'),
  v('zh-CN-XiaoyiNeural', 'Female'),
  v('zh-CN-YunjianNeural', 'Male'),
  v('zh-CN-YunxiNeural', 'Male'),
  v('zh-CN-YunxiaNeural', 'Male'),
  v('zh-CN-YunyangNeural', 'Male'),
  v('zh-CN-liaoning-XiaobeiNeural', 'Female'),
  v('zh-CN-shaanxi-XiaoniNeural', 'Female'),
  v('zh-HK-HiuGaaiNeural', 'Female'),
  v('zh-HK-HiuMaanNeural', 'Female'),
  v('zh-HK-WanLungNeural', 'Male'),
  v('zh-TW-HsiaoChenNeural', 'Female'),
  v('zh-TW-HsiaoYuNeural', 'Female'),
  v('zh-TW-YunJheNeural', 'Male'),
];

export const ONLINE_VOICE_ID = /^[a-z]{2,3}-[A-Z]{2}(?:-[A-Za-z]+)?-[A-Za-z]+Neural$/;

export type ParsedVoice =
  | { engine: 'edge'; id: string; locale: string }
  | { engine: 'espeak'; id: string; espeak: string; locale: string };

/** Check a voice id: an online neural voice name, or one of the offline `espeak:` voices. */
export function parseVoice(voice: string): ParsedVoice {
  const offline = OFFLINE.find((o) => o.id === voice);
  if (offline)
    return { engine: 'espeak', id: offline.id, espeak: offline.id.slice(7), locale: offline.locale };
  if (voice.length <= 64 && ONLINE_VOICE_ID.test(voice)) {
    const locale = /^[a-z]{2,3}-[A-Z]{2}/.exec(voice)![0];
    return { engine: 'edge', id: voice, locale };
  }
  throw new InputError(
    'bad_voice',
    `Unknown voice "${voice.slice(0, 64)}". Pick one from the voice list (e.g. ${DEFAULT_VOICES.en}, ${DEFAULT_VOICES['zh-CN']}, espeak:en-us).`,
    { context: { voice: voice.slice(0, 64) } },
  );
}

/** The offline voice that speaks a locale's language (English when eSpeak NG is not listed for it). */
export function espeakVoiceFor(locale: string): string {
  return ESPEAK_VOICES[locale] ?? ESPEAK_VOICES[locale.split('-')[0]!] ?? 'en-us';
}

/** Voices matching a locale prefix (case-insensitive, "en" matches "en-GB") and a free-text query. */
export function filterVoices(
  all: readonly VoiceInfo[],
  o: { locale?: string; query?: string } = {},
): VoiceInfo[] {
  const locale = o.locale?.toLowerCase();
  const query = o.query?.toLowerCase().trim();
  return all.filter(
    (x) =>
      (!locale || x.locale.toLowerCase() === locale || x.locale.toLowerCase().startsWith(`${locale}-`)) &&
      (!query || x.id.toLowerCase().includes(query) || x.name.toLowerCase().includes(query)),
  );
}

export const OFFLINE_VOICES: readonly VoiceInfo[] = OFFLINE;

/** The service's voice list entries (ShortName, Locale, Gender, FriendlyName) as VoiceInfo. */
export function parseServiceVoiceList(json: unknown): VoiceInfo[] {
  if (!Array.isArray(json)) throw new Error('voice list is not an array');
  const out: VoiceInfo[] = [];
  for (const e of json) {
    if (!e || typeof e !== 'object') continue;
    const r = e as Record<string, unknown>;
    if (typeof r.ShortName !== 'string' || !ONLINE_VOICE_ID.test(r.ShortName)) continue;
    const locale = typeof r.Locale === 'string' ? r.Locale : /^[a-z]{2,3}-[A-Z]{2}/.exec(r.ShortName)![0];
    const name =
      typeof r.FriendlyName === 'string'
        ? r.FriendlyName.replace(/^Microsoft\s+/, '')
        : typeof r.LocalName === 'string'
          ? r.LocalName
          : r.ShortName;
    out.push({
      id: r.ShortName,
      locale,
      name,
      ...(typeof r.Gender === 'string' ? { gender: r.Gender } : {}),
    });
  }
  if (out.length === 0) throw new Error('voice list has no voices');
  return out;
}
