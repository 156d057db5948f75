/**
 * The whole path on this machine: eSpeak NG speech -> basic animator -> H.264 + AAC MP4, read
 * back with ffprobe and ffmpeg. The animation is measured on the decoded video itself: the
 * inner-lip opening found by the project's landmark model must follow the speech's loudness,
 * and the face must stay the same person. Also: the user's own audio, and cancelling.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError } from '../../base/errors.ts';
import { toWav } from '../../core/audio/pcm.ts';
import { config } from '../../core/config.ts';
import { cosine, FaceAnalyzer } from '../../core/face/index.ts';
import { buildMotion } from '../../core/talk/motion.ts';
import { runTalk, type TalkStage } from '../../core/talk/run.ts';
import { VIDEO_CAPS } from '../../core/video/encode.ts';
import { ModelStore } from '../../models/store.ts';
import { FACES, lipGap, pearson, portrait, syntheticSpeech } from './helpers.ts';

const run = promisify(execFile);
let tmp: string;
let analyzer: FaceAnalyzer;
const store = new ModelStore(config().modelsDir);
const photo = readFileSync(path.join(FACES, 'astronaut.png'));

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'facechain-talk-e2e-'));
  analyzer = await FaceAnalyzer.load(store, { threads: 1 });
});

afterAll(async () => {
  await analyzer?.dispose();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function probe(file: string) {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'format=duration:stream=codec_type,codec_name,pix_fmt,width,height',
    '-of',
    'json',
    file,
  ]);
  return JSON.parse(stdout) as {
    format: { duration: string };
    streams: { codec_type: string; codec_name: string; pix_fmt?: string; width?: number; height?: number }[];
  };
}

/** The video's frames as RGB (ffmpeg decodes; the test never trusts the encoder's own figures). */
async function decodeFrames(file: string, size: number): Promise<Uint8Array[]> {
  const { stdout } = await run(
    'ffmpeg',
    ['-nostdin', '-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 1 << 30 },
  );
  const n = size * size * 3;
  const out: Uint8Array[] = [];
  for (let o = 0; o + n <= stdout.length; o += n) out.push(new Uint8Array(stdout.subarray(o, o + n)));
  return out;
}

/** The video's sound as 16 kHz mono floats, RMS per video frame. */
async function loudnessPerFrame(file: string, fps: number): Promise<Float32Array> {
  const { stdout } = await run(
    'ffmpeg',
    ['-nostdin', '-v', 'error', '-i', file, '-f', 'f32le', '-ac', '1', '-ar', '16000', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 1 << 28 },
  );
  const samples = new Float32Array(stdout.buffer, stdout.byteOffset, Math.floor(stdout.length / 4));
  const per = 16000 / fps;
  const out = new Float32Array(Math.floor(samples.length / per));
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (let k = Math.round(i * per); k < Math.round((i + 1) * per); k++) s += samples[k]! ** 2;
    out[i] = Math.sqrt(s / per);
  }
  return out;
}

describe('talking portrait, end to end', () => {
  it('eSpeak -> basic animator -> MP4: H.264 + AAC, as long as the speech, under both caps; the mouth follows the speech and the face stays the same person', async () => {
    const out = path.join(tmp, 'hello.mp4');
    const stages: TalkStage[] = [];
    const r = await runTalk({
      portrait: photo,
      speech: {
        text: 'Hello! I am a talking portrait. Nice to meet you, and have a lovely day.',
        offline: true,
      },
      out,
      engine: 'basic',
      store,
      analyzer,
      progress: (stage) => {
        if (stages[stages.length - 1] !== stage) stages.push(stage);
      },
    });
    expect(stages).toEqual(['speech', 'animate', 'encode']);
    expect(r).toMatchObject({ out, engine: 'basic', engineLabel: 'basic animator', width: 512, height: 512 });
    expect(r.voice).toMatch(/^espeak:/);
    expect(r.frames).toBe(Math.ceil(r.speechS * 25 - 1e-6));
    const info = await probe(out);
    const video = info.streams.find((s) => s.codec_type === 'video');
    const audio = info.streams.find((s) => s.codec_type === 'audio');
    expect(video).toMatchObject({ codec_name: 'h264', pix_fmt: 'yuv420p', width: 512, height: 512 });
    expect(audio?.codec_name).toBe('aac');
    expect(Math.abs(Number(info.format.duration) - r.speechS)).toBeLessThanOrEqual(0.1);
    expect(r.bytes).toBeLessThan(VIDEO_CAPS.discord);
    expect(r.bytes).toBeLessThan(VIDEO_CAPS.telegram);

    // Measured on what the user receives: the decoded frames and sound track.
    const frames = await decodeFrames(out, 512);
    const loud = await loudnessPerFrame(out, 25);
    const source = await portrait(analyzer);
    const gaps: number[] = [];
    const level: number[] = [];
    const sims: number[] = [];
    const blinkSims: number[] = [];
    const { blink: blinks } = buildMotion({
      audio: { samples: new Float32Array(Math.round(r.speechS * 16000)), sampleRate: 16000 },
      fps: 25,
      frames: r.frames,
      seed: 1,
      headMotion: true,
      faceSize: 100,
    });
    for (let i = 0; i < Math.min(frames.length, loud.length); i += 2) {
      const a = await analyzer.analyzeRgb(
        { data: frames[i]!, width: 512, height: 512 },
        { orientation: false, embedding: true },
      );
      expect(a.faces.length).toBeGreaterThanOrEqual(1);
      const face = a.faces[0]!;
      gaps.push(lipGap(face.landmarks) / (face.box[2] - face.box[0]));
      level.push(loud[i]!);
      // Identity is judged with the eyes open; frames in a blink (the engine's seeded schedule,
      // recomputed here) are reported on their own: closed eyes lower any face embedding.
      (blinks[i]! < 0.3 ? sims : blinkSims).push(cosine(face.embedding!, source.face.embedding!));
    }
    const r2 = pearson(gaps, level);
    console.info(
      `talk e2e: ${frames.length} frames; lip gap vs loudness r = ${r2.toFixed(3)}; identity cosine min ${Math.min(...sims).toFixed(3)} ` +
        `over ${sims.length} frames with open eyes, ${blinkSims.map((v) => v.toFixed(3)).join(', ')} in ${blinkSims.length} blink frames`,
    );
    expect(r2).toBeGreaterThanOrEqual(0.6);
    expect(blinkSims.length).toBeGreaterThanOrEqual(1);
    expect(Math.min(...sims)).toBeGreaterThanOrEqual(0.8);
    expect(Math.min(...blinkSims)).toBeGreaterThanOrEqual(0.6);
  });

  it("the user's own audio file makes a video as long as the recording, with no voice named", async () => {
    const wav = toWav(syntheticSpeech(2.5));
    const out = path.join(tmp, 'own voice.mp4');
    const r = await runTalk({
      portrait: photo,
      speech: { audio: wav },
      out,
      engine: 'basic',
      store,
      analyzer,
    });
    expect(r.voice).toBeNull();
    expect(Math.abs(r.durationS - 2.5)).toBeLessThanOrEqual(0.1);
    expect(r.frames).toBe(63);
  });

  it('cancelling while frames are made leaves no file behind', async () => {
    const dir = await mkdtemp(path.join(tmp, 'cancel-'));
    const ac = new AbortController();
    const err = await runTalk({
      portrait: photo,
      speech: { audio: toWav(syntheticSpeech(6)) },
      out: path.join(dir, 'never.mp4'),
      engine: 'basic',
      store,
      analyzer,
      signal: ac.signal,
      progress: (stage, pct) => {
        if (stage === 'animate' && pct >= 30) ac.abort();
      },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect(await readdir(dir)).toEqual([]);
  });
});
