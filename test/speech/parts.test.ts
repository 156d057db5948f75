/** The speech path's pure parts: text cleaning and options, voices, timing helpers, the breaker, the cache. */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { translate } from '../../base/i18n/index.ts';
import { SpeechCache, speechCacheKey } from '../../core/speech/cache.ts';
import { CircuitBreaker } from '../../core/speech/circuit-breaker.ts';
import {
  binaryFrame,
  parseBinaryFrame,
  parseTextFrame,
  wordBoundaries,
} from '../../core/speech/edge-protocol.ts';
import { FALLBACK_REASONS } from '../../core/speech/index.ts';
import { escapeSsml, parsePitch, parseRate, prepareText } from '../../core/speech/text.ts';
import { speechTokens, splitIpa, spreadPhonemes } from '../../core/speech/timing.ts';
import {
  espeakVoiceFor,
  filterVoices,
  OFFLINE_VOICES,
  parseServiceVoiceList,
  parseVoice,
} from '../../core/speech/voices.ts';
import { tmpDir } from '../media/helpers.ts';

describe('text', () => {
  it('strips control characters and lone surrogates, collapses whitespace, caps the length', () => {
    expect(prepareText('  a\u0000b\u0007\u001b[1m\u0085c\n\n\td \uD800e ')).toBe('a b [1m c d e');
    expect(prepareText('😀'.repeat(500))).toHaveLength(1000); // 500 characters (surrogate pairs kept)
    expect(() => prepareText('😀'.repeat(501))).toThrow(expect.objectContaining({ code: 'text_too_long' }));
    expect(() => prepareText('x'.repeat(10_000))).toThrow(
      expect.objectContaining({ code: 'text_too_long', context: { length: 10_000, max: 500 } }),
    );
    expect(() => prepareText(' \u0001 ')).toThrow(expect.objectContaining({ code: 'empty_text' }));
    expect(() => prepareText(42)).toThrow(expect.objectContaining({ code: 'empty_text' }));
  });

  it('escapes the five XML specials', () => {
    expect(escapeSsml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
  });

  it('validates rate and pitch', () => {
    expect(parseRate(undefined)).toEqual({ text: '+0%', percent: 0 });
    expect(parseRate('10%').text).toBe('+10%');
    expect(parseRate('-50%').percent).toBe(-50);
    expect(parseRate('+100%').percent).toBe(100);
    for (const bad of ['-51%', '+101%', 'fast', '10', '1e2%', '+10%; drop'])
      expect(() => parseRate(bad), bad).toThrow(expect.objectContaining({ code: 'bad_rate' }));
    expect(parsePitch('+5hz').text).toBe('+5Hz');
    expect(parsePitch('-50Hz').hz).toBe(-50);
    for (const bad of ['+51Hz', '5', 'high', "+5Hz'/>"])
      expect(() => parsePitch(bad), bad).toThrow(expect.objectContaining({ code: 'bad_pitch' }));
  });
});

describe('voices', () => {
  it('accepts neural voice names and the offline voices, nothing else', () => {
    expect(parseVoice('en-US-AriaNeural')).toEqual({
      engine: 'edge',
      id: 'en-US-AriaNeural',
      locale: 'en-US',
    });
    expect(parseVoice('zh-CN-liaoning-XiaobeiNeural').locale).toBe('zh-CN');
    expect(parseVoice('espeak:cmn-latn-pinyin')).toMatchObject({
      engine: 'espeak',
      espeak: 'cmn-latn-pinyin',
    });
    for (const bad of [
      'espeak:--help',
      'en-US-Aria',
      "en-US-AriaNeural'",
      '../x',
      '',
      'a'.repeat(80) + 'Neural',
    ])
      expect(() => parseVoice(bad), bad).toThrow(expect.objectContaining({ code: 'bad_voice' }));
  });

  it('maps locales to offline voices and filters lists by locale and query', () => {
    expect(espeakVoiceFor('zh-CN')).toBe('cmn-latn-pinyin');
    expect(espeakVoiceFor('zh-HK')).toBe('yue');
    expect(espeakVoiceFor('en-GB')).toBe('en-gb');
    expect(espeakVoiceFor('sw-KE')).toBe('en-us');
    expect(filterVoices(OFFLINE_VOICES, { locale: 'zh' }).map((v) => v.id)).toEqual([
      'espeak:cmn-latn-pinyin',
      'espeak:yue',
    ]);
    expect(filterVoices(OFFLINE_VOICES, { query: 'UK' }).map((v) => v.id)).toEqual(['espeak:en-gb']);
    expect(
      parseServiceVoiceList([
        {
          ShortName: 'en-US-AriaNeural',
          Locale: 'en-US',
          Gender: 'Female',
          FriendlyName: 'Microsoft Aria Online',
        },
        { ShortName: 'bad name' },
      ]),
    ).toEqual([{ id: 'en-US-AriaNeural', locale: 'en-US', gender: 'Female', name: 'Aria Online' }]);
    expect(() => parseServiceVoiceList({})).toThrow();
  });
});

describe('wire format', () => {
  it('parses text frames, binary frames and word boundaries', () => {
    expect(parseTextFrame('Path:turn.start\r\nX-RequestId:1\r\n\r\n{}')).toEqual({
      headers: { path: 'turn.start', 'x-requestid': '1' },
      body: '{}',
    });
    expect(parseTextFrame('no headers')).toBeUndefined();
    const f = parseBinaryFrame(binaryFrame('Path:audio\r\n', new Uint8Array([1, 2, 3])))!;
    expect(f.headers.path).toBe('audio');
    expect([...f.body]).toEqual([1, 2, 3]);
    expect(parseBinaryFrame(Buffer.from([0xff, 0xff, 1]))).toBeUndefined();
    const words = wordBoundaries(
      JSON.stringify({
        Metadata: [
          { Type: 'WordBoundary', Data: { Offset: 1_000_000, Duration: 2_500_000, text: { Text: 'Hi' } } },
          { Type: 'SessionEnd', Data: { Offset: 0 } },
        ],
      }),
    );
    expect(words).toEqual([{ start: 0.1, end: 0.35, text: 'Hi', kind: 'word' }]);
  });
});

describe('timing helpers', () => {
  it('splits text into spoken tokens (Han characters one by one)', () => {
    expect(speechTokens('Hello, world! -- 3.5 «ok» 你好，世界。')).toEqual([
      'Hello',
      'world',
      '3.5',
      'ok',
      '你',
      '好',
      '世',
      '界',
    ]);
  });

  it('cleans eSpeak IPA and spreads phonemes by weight over the word', () => {
    expect(splitIpa('h_ə_l_ˈoʊ')).toEqual(['h', 'ə', 'l', 'oʊ']);
    expect(splitIpa('(en)n_ˈi2_')).toEqual(['n', 'i']);
    const p = spreadPhonemes({ start: 1, end: 2, text: 'hello', kind: 'word' }, ['h', 'ə', 'l', 'oʊ']);
    expect(p[0]!.start).toBe(1);
    expect(p.at(-1)!.end).toBe(2);
    expect(p[1]!.end - p[1]!.start).toBeCloseTo(2 * (p[0]!.end - p[0]!.start), 9);
    expect(p[3]!.end - p[3]!.start).toBeGreaterThan(p[1]!.end - p[1]!.start);
  });
});

describe('circuit breaker', () => {
  it('opens after the threshold, refuses while open, lets one trial through when half-open', () => {
    let now = 0;
    const b = new CircuitBreaker(2, 1000, () => now);
    expect(b.tryAcquire()).toBe(true);
    b.failure();
    expect(b.state).toBe('closed');
    b.failure();
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(false);
    expect(b.retryInMs()).toBe(1000);
    now = 1000;
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false); // one trial at a time
    b.failure();
    expect(b.state).toBe('open');
    now = 2000;
    expect(b.tryAcquire()).toBe(true);
    b.success();
    expect(b.state).toBe('closed');
  });
});

describe('speech cache', () => {
  it('keys by every option, returns what was stored, evicts the least recently used past its budget', async () => {
    expect(speechCacheKey({ voice: 'a', text: 'x' })).toBe(speechCacheKey({ text: 'x', voice: 'a' }));
    expect(speechCacheKey({ voice: 'a', text: 'x' })).not.toBe(speechCacheKey({ voice: 'a', text: 'y' }));
    const dir = path.join(tmpDir(), 'cache');
    const cache = new SpeechCache(dir, 10_000);
    const entry = (n: number) => ({
      mp3: Buffer.alloc(2000, n),
      words: [{ start: 0, end: 1, text: `w${n}`, kind: 'word' as const }],
    });
    const keys = [1, 2, 3, 4].map((n) => speechCacheKey({ n: String(n) }));
    await cache.put(keys[0]!, entry(1));
    await cache.put(keys[1]!, entry(2));
    await new Promise((r) => setTimeout(r, 20));
    expect((await cache.get(keys[0]!))?.words[0]?.text).toBe('w1'); // touched: now the most recent
    await cache.put(keys[2]!, entry(3));
    await cache.put(keys[3]!, entry(4));
    await cache.put(speechCacheKey({ n: '5' }), entry(5));
    expect(await cache.get(keys[1]!)).toBeUndefined();
    expect((await cache.get(keys[0]!))?.mp3[0]).toBe(1);
    expect(await new SpeechCache(dir, 0).get(keys[0]!)).toBeUndefined();
    rmSync(path.dirname(dir), { recursive: true, force: true });
  });
});

describe('messages', () => {
  it('every fallback reason and speech error code has an English and a Chinese message', () => {
    const keys = [
      ...FALLBACK_REASONS.map((r) => `talk.voice_fallback.${r}`),
      ...[
        'text_too_long',
        'empty_text',
        'bad_voice',
        'bad_rate',
        'bad_pitch',
        'not_audio',
        'audio_too_long',
      ].map((c) => `joberror.${c}`),
      ...['audio_too_large', 'video_too_large', 'video_too_long'].map((c) => `joberror.${c}`),
    ];
    for (const k of keys) {
      const en = translate('en', k);
      const zh = translate('zh-CN', k);
      expect(en, k).not.toMatch(/\{\w+\}/);
      expect(zh, k).toMatch(/\p{Script=Han}/u);
    }
  });
});
