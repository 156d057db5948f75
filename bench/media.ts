/**
 * Speech and video encoding cost, in seconds of wall-clock compute per second of media (1.0 =
 * real time), on this machine's cores. Run: node bin/run-ts.js bench/media.ts [rounds]
 * - offline voice (eSpeak NG + word/phoneme timing), English and Chinese;
 * - online voice client against the tests' local stand-in service (no network here): what this
 *   process spends per request (MP3 decoding, phonemes for the word timing), not the service's time;
 * - MP4 encoding of 512x512 frames at 25 fps with speech (frames made beforehand, so only ffmpeg
 *   and the pipes are timed).
 * Other processes sharing the cores depress the figures.
 */
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { durationS } from '../core/audio/pcm.ts';
import { SpeechService } from '../core/speech/index.ts';
import { OnlineVoice } from '../core/speech/online.ts';
import { encodeMp4 } from '../core/video/encode.ts';
import { ffmpeg, tmpDir } from '../test/media/helpers.ts';
import { EdgeStandin } from '../test/speech/edge-standin.ts';

const rounds = Number(process.argv[2] ?? 3);
const dir = tmpDir('fc-media-bench-');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const EN =
  'Hello! This is a talking portrait, made from a single photo and a few lines of text. ' +
  'The voice you hear was made on this server, and the mouth moves with every word it says. ' +
  'Send a voice message instead, and the portrait will speak with your own voice. ' +
  'Everything is deleted when you ask the bot to forget you, including this video.';
const ZH =
  '你好！这是一段说话写真，由一张照片和几句文字生成。你听到的声音在这台服务器上合成，嘴型会随着每个字变化。';

console.log(`media bench: ${os.availableParallelism()} cores, ${rounds} rounds, node ${process.version}`);

const offline = new SpeechService({
  online: false,
  onlineVoice: new OnlineVoice({ timeoutMs: 1000 }),
  maxText: 500,
});

async function speechRow(
  label: string,
  run: () => Promise<{ audio: { samples: Float32Array; sampleRate: number } }>,
) {
  const ratios: number[] = [];
  let audioS = 0;
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    const s = await run();
    const ms = performance.now() - t0;
    audioS = durationS(s.audio);
    ratios.push(ms / 1000 / audioS);
  }
  console.log(
    `${label.padEnd(58)} ${audioS.toFixed(1).padStart(5)} s audio  ${median(ratios).toFixed(3)} s/s`,
  );
}

await speechRow(`offline voice, English (${EN.length} chars), with timing`, () =>
  offline.synthesize(EN, { offline: true }),
);
await speechRow(`offline voice, Chinese (${[...ZH].length} chars), with timing`, () =>
  offline.synthesize(ZH, { offline: true, locale: 'zh-CN' }),
);

// The online client against the stand-in: a 20 s MP3 answer, as the service would send for EN.
const mp3 = path.join(dir, 'answer.mp3');
ffmpeg(['-f', 'lavfi', '-i', 'sine=f=220:d=20:r=24000', '-ac', '1', '-b:a', '48k', mp3]);
const standin = new EdgeStandin(readFileSync(mp3), 20);
const urls = await standin.start();
const online = new SpeechService({
  online: true,
  onlineVoice: new OnlineVoice({ endpoint: urls.wss, timeoutMs: 20_000 }),
  maxText: 500,
});
await speechRow('online voice client (local stand-in; excludes service time)', () =>
  online.synthesize(EN, {}),
);
await standin.stop();

// Encoding: 12 s of offline speech under 512x512 frames at 25 fps.
const speech = (await offline.synthesize(EN.slice(0, 180), { offline: true })).audio;
const W = 512;
const frameCount = Math.ceil(durationS(speech) * 25);
const frames: Uint8Array[] = [];
for (let f = 0; f < 50; f++) {
  const b = new Uint8Array(W * W * 3);
  for (let i = 0; i < W * W; i++) {
    const x = i % W;
    const y = Math.floor(i / W);
    const inside = (x - 256 - 40 * Math.sin(f / 8)) ** 2 + (y - 256) ** 2 < 120 ** 2;
    b[i * 3] = inside ? 215 : x / 2;
    b[i * 3 + 1] = inside ? 160 : y / 2;
    b[i * 3 + 2] = inside ? 135 : 100;
  }
  frames.push(b);
}
async function* source() {
  for (let f = 0; f < frameCount; f++) yield frames[f % frames.length]!;
}
const encodeRatios: number[] = [];
let last = { bytes: 0, durationS: 0 };
for (let i = 0; i < rounds; i++) {
  const t0 = performance.now();
  last = await encodeMp4({
    frames: source(),
    width: W,
    height: W,
    fps: 25,
    audio: speech,
    out: path.join(dir, 'bench.mp4'),
  });
  encodeRatios.push((performance.now() - t0) / 1000 / last.durationS);
}
console.log(
  `${'encode MP4 512x512 25 fps H.264 veryfast + AAC'.padEnd(58)} ${last.durationS.toFixed(1).padStart(5)} s video  ${median(encodeRatios).toFixed(3)} s/s  (${Math.round(last.bytes / 1024)} KiB)`,
);
console.log(`peak RSS of this process: ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
rmSync(dir, { recursive: true, force: true });
