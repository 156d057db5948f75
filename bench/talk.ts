/**
 * Talking portraits with the basic animator at 512x512, 25 fps: seconds of compute per second
 * of video, split into speech (the offline eSpeak NG voice), animation and encoding (ffmpeg,
 * H.264 + AAC), then the whole streaming path as runTalk runs it; peak RSS. Target: at most 1.0
 * (real time) in total. Run: node bin/run-ts.js bench/talk.ts [seconds of speech, default 12]
 *
 * Wall-clock and CPU seconds both: CPU counts this process for speech parsing and animation and
 * the child processes (eSpeak NG, ffmpeg; Linux /proc) for synthesis and encoding, so figures on
 * a busy shared machine can still be read. Other processes sharing the cores depress wall-clock.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { config } from '../core/config.ts';
import { FaceAnalyzer } from '../core/face/index.ts';
import { largestFace, uprightImage } from '../core/fusion/faces.ts';
import { decodeImage } from '../core/image/codec.ts';
import { synthesize } from '../core/speech/index.ts';
import { BasicEngine } from '../core/talk/basic.ts';
import { runTalk } from '../core/talk/run.ts';
import { encodeMp4 } from '../core/video/encode.ts';
import { ModelStore } from '../models/store.ts';

const target = Number(process.argv[2] ?? 12);
const TEXT =
  'Hello! This is a talking portrait made on the processor, with no graphics card at all. ' +
  'The mouth follows the speech, the eyes blink now and then, and the head moves a little, ' +
  'the way people do when they talk. It should be ready in about the time it takes to watch.';

/** CPU seconds of this process and of its finished children (Linux: /proc/self/stat). */
function cpu(): { self: number; children: number } {
  const u = process.cpuUsage();
  let children = 0;
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    // After "pid (comm) ": state is field 3, so cutime/cstime (fields 16, 17) are at 13, 14.
    children = (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    children = Number.NaN;
  }
  return { self: (u.user + u.system) / 1e6, children };
}

function since(t0: number, c0: ReturnType<typeof cpu>) {
  const c = cpu();
  return {
    wall: (performance.now() - t0) / 1000,
    self: c.self - c0.self,
    children: c.children - c0.children,
  };
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');

const store = new ModelStore(config().modelsDir);
const analyzer = await FaceAnalyzer.load(store);
const photo = readFileSync('test/fixtures/faces/astronaut.png');
const decoded = await decodeImage(photo);
const analysis = await analyzer.analyzeRgb(decoded);
const portrait = uprightImage(decoded, analysis);
const landmarks = largestFace(analysis, 'portrait').landmarks;

// Speech: repeat the text until it lasts about `target` seconds (one synthesis measured).
let text = TEXT;
let t0 = performance.now();
let c0 = cpu();
let speech = await synthesize(text, { offline: true });
const perText = speech.audio.samples.length / speech.audio.sampleRate;
if (perText < target * 0.8) {
  text = Array.from({ length: Math.ceil(target / perText) }, () => TEXT).join(' ');
  t0 = performance.now();
  c0 = cpu();
  speech = await synthesize(text.slice(0, config().FACECHAIN_TALK_MAX_TEXT), { offline: true });
}
const speechCost = since(t0, c0);
const seconds = speech.audio.samples.length / speech.audio.sampleRate;

console.log(
  `talk bench: ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? 'unknown cpu'}), node ${process.version}; ` +
    `basic animator, 512x512, 25 fps, ${seconds.toFixed(2)} s of speech (${speech.voice}), ` +
    `load average ${os.loadavg()[0]!.toFixed(1)}`,
);
const row = (name: string, c: { wall: number; self: number; children: number }) =>
  console.log(
    `  ${name.padEnd(34)} wall ${fmt(c.wall / seconds)} s/s   cpu ${fmt((c.self + c.children) / seconds)} s/s ` +
      `(node ${fmt(c.self / seconds)}, children ${fmt(c.children / seconds)})`,
  );
row('speech (eSpeak NG, offline)', speechCost);

for (const headMotion of [true, false]) {
  const anim = await new BasicEngine().animate({
    portrait,
    landmarks,
    audio: speech.audio,
    timing: speech.timing,
    headMotion,
  });
  t0 = performance.now();
  c0 = cpu();
  for await (const _ of anim.frames);
  row(`animation (head motion ${headMotion ? 'on' : 'off'})`, since(t0, c0));
}

// The whole streaming path first, so the peak RSS below is its own (the encoding-alone row
// after it holds every frame in memory on purpose).
const dir = await mkdtemp(path.join(os.tmpdir(), 'facechain-talk-bench-'));
try {
  t0 = performance.now();
  c0 = cpu();
  const r = await runTalk({
    portrait: photo,
    speech: { text: text.slice(0, config().FACECHAIN_TALK_MAX_TEXT), offline: true },
    out: path.join(dir, 'talk.mp4'),
    engine: 'basic',
    store,
    analyzer,
  });
  const total = since(t0, c0);
  const rss = process.resourceUsage().maxRSS / 1024;

  const anim = await new BasicEngine().animate({
    portrait,
    landmarks,
    audio: speech.audio,
    timing: speech.timing,
  });
  const frames: Uint8Array[] = [];
  for await (const f of anim.frames) frames.push(f);
  async function* replay() {
    yield* frames;
  }
  t0 = performance.now();
  c0 = cpu();
  const enc = await encodeMp4({
    frames: replay(),
    width: 512,
    height: 512,
    fps: 25,
    audio: speech.audio,
    out: path.join(dir, 'encode.mp4'),
  });
  row('encoding alone (ffmpeg, veryfast)', since(t0, c0));
  frames.length = 0;
  row('whole path (runTalk, streaming)', total);
  console.log(
    `  runTalk stages (wall s): analysis + speech ${r.seconds.speech.toFixed(2)}, animate ${r.seconds.animate.toFixed(2)}, ` +
      `encode tail ${r.seconds.encode.toFixed(2)}; ${r.frames} frames, ${r.bytes} bytes (${enc.bytes} encoding alone)`,
  );
  console.log(
    `  peak RSS of this process through the whole path ${rss.toFixed(0)} MB (models loaded; ffmpeg and eSpeak NG are their own processes)`,
  );
  console.log(
    `  target: whole path <= 1.0 s of compute per s of video: ${(total.self + total.children) / seconds <= 1 ? 'met' : 'NOT met'} (cpu), ${total.wall / seconds <= 1 ? 'met' : 'NOT met'} (wall)`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
  await analyzer.dispose();
}
