/**
 * The online voice against a local stand-in of the read-aloud service (same WebSocket protocol):
 * normal speech, the wire format, hostile text, a 403, a hang past the deadline, a dropped
 * connection, retries, the circuit breaker, the cache and the voice list. Failures fall back to
 * the real offline voice with the reason set.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CancelledError } from '../../base/errors.ts';
import { durationS } from '../../core/audio/pcm.ts';
import { loadConfig } from '../../core/config.ts';
import { SpeechCache } from '../../core/speech/cache.ts';
import { CircuitBreaker } from '../../core/speech/circuit-breaker.ts';
import { secMsGec } from '../../core/speech/edge-protocol.ts';
import { SpeechService, VOICE_LIST_WAIT_MS } from '../../core/speech/index.ts';
import { OnlineVoice } from '../../core/speech/online.ts';
import { ffmpeg, tmpDir } from '../media/helpers.ts';
import { EdgeStandin } from './edge-standin.ts';

const MP3_SECONDS = 2;
let standin: EdgeStandin;
let urls: { wss: string; voices: string };
let dir: string;

beforeAll(async () => {
  dir = tmpDir();
  const mp3 = path.join(dir, 'answer.mp3');
  // The service's format: 24 kHz mono MP3 at 48 kb/s; a tone with a pause, so loudness and length are known.
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `sine=f=300:d=${MP3_SECONDS}:r=24000`,
    '-ac',
    '1',
    '-ar',
    '24000',
    '-b:a',
    '48k',
    mp3,
  ]);
  standin = new EdgeStandin(readFileSync(mp3), MP3_SECONDS);
  urls = await standin.start();
});

afterAll(async () => {
  await standin.stop();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  standin.queue = [];
  standin.fallbackBehaviour = 'ok';
  standin.rejectDate = undefined;
});

function service(
  o: {
    timeoutMs?: number;
    retries?: number;
    breaker?: CircuitBreaker;
    cache?: boolean;
    online?: boolean;
  } = {},
) {
  const onlineVoice = new OnlineVoice({
    endpoint: urls.wss,
    voicesUrl: urls.voices,
    timeoutMs: o.timeoutMs ?? 5000,
    retries: o.retries ?? 2,
    backoffMs: 10,
    ...(o.breaker ? { breaker: o.breaker } : {}),
  });
  return new SpeechService({
    online: o.online ?? true,
    onlineVoice,
    maxText: 500,
    ...(o.cache
      ? { cache: new SpeechCache(path.join(dir, `cache-${Math.random()}`), 10 * 1024 * 1024) }
      : {}),
  });
}

describe('online voice (stand-in service)', () => {
  it('speaks through the service: audio, voice, word timing with phonemes, the protocol frames', async () => {
    const before = standin.received.length;
    const s = await service().synthesize('Hello there, my friend', { locale: 'en' });
    expect(s.engine).toBe('edge');
    expect(s.voice).toBe('en-US-AriaNeural');
    expect(s.fallback).toBeUndefined();
    expect(s.audio.sampleRate).toBe(24_000);
    expect(Math.abs(durationS(s.audio) - MP3_SECONDS)).toBeLessThan(0.1);
    const words = s.timing!.filter((t) => t.kind === 'word');
    expect(words.map((w) => w.text)).toEqual(['Hello', 'there,', 'my', 'friend']);
    expect(words[1]!.start).toBeCloseTo(0.5, 5);
    const phonemes = s.timing!.filter((t) => t.kind === 'phoneme');
    expect(phonemes.length).toBeGreaterThan(8);
    for (const p of phonemes) {
      const w = words.find((x) => p.start >= x.start - 1e-9 && p.end <= x.end + 1e-9);
      expect(w, `phoneme ${p.text} inside a word`).toBeDefined();
    }

    expect(standin.received.length).toBe(before + 1);
    const r = standin.received.at(-1)!;
    const q = new URL(r.url, 'http://x').searchParams;
    expect(q.get('TrustedClientToken')).toMatch(/^[0-9A-F]{32}$/);
    expect(q.get('Sec-MS-GEC')).toMatch(/^[0-9A-F]{64}$/);
    expect([secMsGec(Date.now()), secMsGec(Date.now() - 300_000)]).toContain(q.get('Sec-MS-GEC'));
    expect(q.get('ConnectionId')).toMatch(/^[0-9a-f]{32}$/);
    expect(r.headers.origin).toBe('chrome-extension://jdiccldimpdaibmpdkjnbmckianbfold');
    expect(r.frames[0]).toContain('Path:speech.config');
    expect(r.frames[0]).toContain('audio-24khz-48kbitrate-mono-mp3');
    const ssml = standin.lastSsml()!;
    expect(ssml).toContain("<voice name='en-US-AriaNeural'>");
    expect(ssml).toContain("xml:lang='en-US'");
    expect(ssml).toContain("rate='+0%'");
  });

  it('passes rate, pitch and the zh-CN default voice; the Sec-MS-GEC token changes every 5 minutes', async () => {
    const s = await service().synthesize('你好，世界', { locale: 'zh-CN', rate: '+20%', pitch: '-5Hz' });
    expect(s.voice).toBe('zh-CN-XiaoxiaoNeural');
    const ssml = standin.lastSsml()!;
    expect(ssml).toContain("<voice name='zh-CN-XiaoxiaoNeural'>");
    expect(ssml).toContain("pitch='-5Hz' rate='+20%'");
    const t = Date.UTC(2026, 0, 1, 12, 0, 0);
    expect(secMsGec(t)).toBe(secMsGec(t + 299_000));
    expect(secMsGec(t)).not.toBe(secMsGec(t + 300_000));
  });

  it('escapes hostile text: quotes, SSML and control characters are spoken, never obeyed', async () => {
    const hostile = `"Quotes" & 'apostrophes' </prosody><voice name='x'><audio src='http://e/x'/> \u0001\u0007\u001b[31m end`;
    const s = await service().synthesize(hostile, {});
    expect(s.engine).toBe('edge');
    const ssml = standin.lastSsml()!;
    const body = /<prosody[^>]*>([\s\S]*)<\/prosody>/.exec(ssml)![1]!;
    expect(body).not.toMatch(/[<>"']/);
    expect(body).toContain('&lt;/prosody&gt;&lt;voice name=&apos;x&apos;&gt;');
    expect(body).toContain('&quot;Quotes&quot; &amp; &apos;apostrophes&apos;');
    expect(body).not.toMatch(/[\u0000-\u001f\u007f]/);
    expect(ssml.match(/<voice /g)).toHaveLength(1);
  });

  it('refuses text over the cap and bad options before any request', async () => {
    const before = standin.received.length;
    const svc = service();
    await expect(svc.synthesize('a'.repeat(10_000), {})).rejects.toMatchObject({ code: 'text_too_long' });
    await expect(svc.synthesize('\u0000\u0001 \u0002', {})).rejects.toMatchObject({ code: 'empty_text' });
    await expect(svc.synthesize('hi', { rate: 'fast' })).rejects.toMatchObject({ code: 'bad_rate' });
    await expect(svc.synthesize('hi', { pitch: '+500Hz' })).rejects.toMatchObject({ code: 'bad_pitch' });
    await expect(svc.synthesize('hi', { voice: "en-US-Aria'/><x" })).rejects.toMatchObject({
      code: 'bad_voice',
    });
    expect(standin.received.length).toBe(before);
  });

  it('a 403 falls back to the offline voice at once (no retries), with the reason', async () => {
    standin.queue = ['403', '403', '403'];
    const before = standin.received.length;
    const s = await service().synthesize('The service says no.', {});
    expect(s.engine).toBe('espeak');
    expect(s.voice).toBe('espeak:en-us');
    expect(s.fallback?.reason).toBe('rejected');
    expect(s.fallback?.message).toContain('403');
    expect(durationS(s.audio)).toBeGreaterThan(0.5);
    expect(standin.received.length).toBe(before + 1);
  });

  it("a 403 from a server whose clock is far from ours is retried once with a token for the server's time", async () => {
    standin.queue = ['403', 'ok'];
    standin.rejectDate = new Date(Date.now() + 3600_000);
    const s = await service({ retries: 0 }).synthesize('Clock skew.', {});
    expect(s.engine).toBe('edge');
    const q = new URL(standin.received.at(-1)!.url, 'http://x').searchParams;
    expect([secMsGec(Date.now() + 3600_000), secMsGec(Date.now() + 3300_000)]).toContain(q.get('Sec-MS-GEC'));
  });

  it('a hang past the deadline falls back with reason timeout, within the deadline', async () => {
    standin.fallbackBehaviour = 'hang';
    const t0 = Date.now();
    const s = await service({ timeoutMs: 400 }).synthesize('Nobody answers.', {});
    const waited = Date.now() - t0;
    expect(s.engine).toBe('espeak');
    expect(s.fallback?.reason).toBe('timeout');
    expect(waited).toBeGreaterThanOrEqual(400);
    expect(waited).toBeLessThan(10_000);
  });

  it('a dropped connection is retried with backoff; when every attempt drops, the reason is dropped', async () => {
    standin.queue = ['drop', 'ok'];
    const before = standin.received.length;
    const ok = await service().synthesize('Second time lucky.', {});
    expect(ok.engine).toBe('edge');
    expect(standin.received.length).toBe(before + 2);

    standin.fallbackBehaviour = 'drop';
    const s = await service({ retries: 2 }).synthesize('Always cut off.', {});
    expect(s.fallback?.reason).toBe('dropped');
    expect(standin.received.length).toBe(before + 2 + 3);
  });

  it('5xx answers are retried; a service that cannot be reached falls back with reason unreachable', async () => {
    standin.queue = ['503', 'ok'];
    expect((await service().synthesize('Busy, then fine.', {})).engine).toBe('edge');

    const dead = new SpeechService({
      online: true,
      onlineVoice: new OnlineVoice({
        endpoint: 'ws://127.0.0.1:9/edge/v1',
        timeoutMs: 2000,
        retries: 1,
        backoffMs: 10,
      }),
      maxText: 500,
    });
    const s = await dead.synthesize('Is anyone there?', {});
    expect(s.fallback?.reason).toBe('unreachable');
  });

  it('the circuit breaker opens after repeated failures (no more requests), then lets one trial through', async () => {
    let now = 1_000_000;
    const breaker = new CircuitBreaker(2, 30_000, () => now);
    const svc = service({ retries: 0, breaker });
    standin.fallbackBehaviour = '503';
    const before = standin.received.length;
    expect((await svc.synthesize('one', {})).fallback?.reason).toBe('rejected');
    expect((await svc.synthesize('two', {})).fallback?.reason).toBe('rejected');
    expect(breaker.state).toBe('open');
    const third = await svc.synthesize('three', {});
    expect(third.fallback?.reason).toBe('circuit_open');
    expect(standin.received.length).toBe(before + 2);

    now += 30_000;
    expect(breaker.state).toBe('half-open');
    standin.fallbackBehaviour = 'ok';
    expect((await svc.synthesize('four', {})).engine).toBe('edge');
    expect(breaker.state).toBe('closed');
  });

  it('caches by (voice, text, options): the same request is answered without the service', async () => {
    const svc = service({ cache: true });
    const before = standin.received.length;
    const a = await svc.synthesize('Cache me if you can.', {});
    const b = await svc.synthesize('Cache me if you can.', {});
    expect(standin.received.length).toBe(before + 1);
    expect(b.engine).toBe('edge');
    expect(b.audio.samples).toEqual(a.audio.samples);
    expect(b.timing).toEqual(a.timing);
    await svc.synthesize('Cache me if you can.', { rate: '+10%' });
    await svc.synthesize('Cache me if you can.', { voice: 'en-GB-SoniaNeural' });
    expect(standin.received.length).toBe(before + 3);
  });

  it('audio the service sends that is not audio falls back with reason failed, and is not cached', async () => {
    const svc = service({ cache: true });
    standin.queue = ['garbage', 'garbage'];
    const before = standin.received.length;
    const a = await svc.synthesize('Scrambled.', {});
    expect(a.fallback?.reason).toBe('failed');
    expect(a.fallback?.message).toMatch(/not audio/);
    const b = await svc.synthesize('Scrambled.', {});
    expect(b.fallback?.reason).toBe('failed');
    expect(standin.received.length).toBe(before + 2);
  });

  it('online off: the offline voice speaks, with reason disabled; offline asked for: no fallback noted', async () => {
    const before = standin.received.length;
    const off = await service({ online: false }).synthesize('Turned off.', { locale: 'zh-CN' });
    expect(off.engine).toBe('espeak');
    expect(off.voice).toBe('espeak:cmn-latn-pinyin');
    expect(off.fallback?.reason).toBe('disabled');
    const asked = await service().synthesize('Offline please.', { offline: true });
    expect(asked.engine).toBe('espeak');
    expect(asked.fallback).toBeUndefined();
    expect(standin.received.length).toBe(before);
  });

  it('cancel while waiting for the service stops at once with CancelledError', async () => {
    standin.fallbackBehaviour = 'hang';
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    await expect(
      service({ timeoutMs: 5000 }).synthesize('Never mind.', { signal: ac.signal }),
    ).rejects.toBeInstanceOf(CancelledError);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("lists voices from the service's list when it answers, the built-in list otherwise, offline voices too", async () => {
    const svc = service();
    const en = await svc.listVoices({ locale: 'en' });
    expect(en.map((v) => v.id)).toContain('en-US-StandinNeural');
    expect(en.map((v) => v.id)).toContain('espeak:en-us');
    expect(en.every((v) => v.locale.startsWith('en'))).toBe(true);
    const requests = standin.voiceListRequests;
    await svc.listVoices({ query: 'xiao' });
    expect(standin.voiceListRequests).toBe(requests); // cached

    standin.voiceListStatus = 500;
    const fresh = service();
    const zh = await fresh.listVoices({ locale: 'zh-CN' });
    standin.voiceListStatus = 200;
    expect(zh.map((v) => v.id)).toContain('zh-CN-YunxiNeural'); // built-in list
    expect(zh.map((v) => v.id)).toContain('espeak:cmn-latn-pinyin');
    expect((await fresh.listVoices({ query: 'sonia' })).map((v) => v.id)).toEqual(['en-GB-SoniaNeural']);
  });

  it('a voice list that is slow to come is not waited for: the built-in list answers, the late one is kept', async () => {
    standin.voiceListDelayMs = 4000;
    const svc = service({ timeoutMs: 10_000 });
    const t0 = Date.now();
    const first = await svc.listVoices({ locale: 'en' });
    expect(Date.now() - t0).toBeLessThan(VOICE_LIST_WAIT_MS + 1000);
    expect(first.map((v) => v.id)).toContain('en-GB-SoniaNeural'); // built-in list
    expect(first.map((v) => v.id)).toContain('espeak:en-us');
    // An empty list from the service (here: in time, but empty) is no list either.
    standin.voiceListDelayMs = 50;
    const empty = await service().listVoices({ locale: 'en' });
    expect(empty.map((v) => v.id)).toContain('en-GB-SoniaNeural');
    standin.voiceListDelayMs = 0;
  });

  it('defaults: 20 s deadline, 500 characters, online on', () => {
    const c = loadConfig({});
    expect(c.FACECHAIN_TTS_TIMEOUT_MS).toBe(20_000);
    expect(c.FACECHAIN_TALK_MAX_TEXT).toBe(500);
    expect(c.FACECHAIN_TTS_ONLINE).toBe(true);
    expect(loadConfig({ FACECHAIN_TTS_ONLINE: 'off' }).FACECHAIN_TTS_ONLINE).toBe(false);
  });
});
