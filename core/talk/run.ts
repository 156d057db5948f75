/**
 * runTalk: one talking-portrait request from start to finish, as the `talk` job and the
 * `facechain talk` command run it: portrait analysis, speech (text through the voices, or the
 * user's audio decoded), the animation engine, the MP4 encoder. Frames stream from the engine
 * into the encoder, so a video never sits in memory and nothing of the person is written except
 * the output (the encoder writes under a temporary name and renames when complete).
 *
 * Progress is reported per stage: 'speech' (voice or decoding), 'animate' (frames made) and
 * 'encode' (after the last frame, until the file is complete).
 */

import { throwIfAborted } from '../../base/errors.ts';
import { log } from '../../base/log.ts';
import type { ModelStore } from '../../models/store.ts';
import { decodeAudio } from '../audio/decode.ts';
import type { Pcm } from '../audio/pcm.ts';
import type { FaceAnalyzer } from '../face/analyzer.ts';
import { largestFace, uprightImage } from '../fusion/faces.ts';
import { decodeImage, type RgbImage } from '../image/codec.ts';
import { type SpeechTiming, type SynthesizeOptions, synthesize } from '../speech/index.ts';
import { encodeMp4 } from '../video/encode.ts';
import { type EngineChoice, pickEngine } from './engines.ts';
import type { AnimationEngine, EngineName } from './types.ts';

export type TalkStage = 'speech' | 'animate' | 'encode';

export type TalkSpeech =
  | {
      text: string;
      voice?: string;
      /** Speak with the offline voice. */
      offline?: boolean;
      locale?: SynthesizeOptions['locale'];
      rate?: string;
      pitch?: string;
    }
  | {
      /** The user's audio: file bytes or a path. */
      audio: Uint8Array | string;
    };

export interface TalkRequest {
  /** The portrait's image file bytes (the caller resolves an artifact reference). */
  portrait: Uint8Array;
  speech: TalkSpeech;
  /** Where the MP4 goes. */
  out: string;
  /** 'auto' (default): the GPU engine when installed, else basic. Ignored when `animator` is given. */
  engine?: EngineChoice;
  /** A loaded engine to reuse (a worker keeps its GPU sessions between jobs); not disposed here. */
  animator?: AnimationEngine;
  store: ModelStore;
  /** A loaded analyzer to reuse (a worker's); otherwise one is loaded for this request. */
  analyzer?: FaceAnalyzer;
  /** File size cap (the platform's; default: the encoder's, Discord's 10 MiB). */
  maxBytes?: number;
  headMotion?: boolean;
  seed?: number;
  size?: number;
  fps?: number;
  /** Run the GPU engine's face enhancer (default off). */
  enhance?: boolean;
  signal?: AbortSignal;
  progress?: (stage: TalkStage, percent: number) => void;
}

export interface TalkResult {
  out: string;
  engine: EngineName;
  /** What the reply calls the engine ("basic animator", "SadTalker"). */
  engineLabel: string;
  /** The voice that spoke, or null for the user's own audio. */
  voice: string | null;
  /** Length of the video (as probed) and of the speech it carries, seconds. */
  durationS: number;
  speechS: number;
  frames: number;
  bytes: number;
  width: number;
  height: number;
  /** Set when the offline voice stood in for the online one (the reply says so). */
  fallback?: { reason: string; message: string };
  /** Wall-clock seconds per stage (animation and encoding overlap: 'animate' ends at the last frame). */
  seconds: { speech: number; animate: number; encode: number };
}

export async function runTalk(req: TalkRequest): Promise<TalkResult> {
  const { signal } = req;
  const report = req.progress ?? (() => {});
  const clock = performance.now();
  throwIfAborted(signal);

  // The portrait first: a photo without a face fails before any speech is made.
  const analyzer = req.analyzer ?? (await loadAnalyzer(req.store));
  let image: RgbImage;
  let landmarks: [number, number][];
  try {
    const decoded = await decodeImage(req.portrait);
    const analysis = await analyzer.analyzeRgb(decoded, { signal });
    landmarks = largestFace(analysis, 'portrait').landmarks;
    image = uprightImage(decoded, analysis);
  } finally {
    if (!req.analyzer) await analyzer.dispose();
  }

  report('speech', 0);
  let audio: Pcm;
  let timing: SpeechTiming[] | undefined;
  let voice: string | null = null;
  let fallback: TalkResult['fallback'];
  if ('text' in req.speech) {
    const s = req.speech;
    const speech = await synthesize(s.text, {
      ...(s.voice ? { voice: s.voice } : {}),
      ...(s.offline ? { offline: true } : {}),
      ...(s.locale ? { locale: s.locale } : {}),
      ...(s.rate ? { rate: s.rate } : {}),
      ...(s.pitch ? { pitch: s.pitch } : {}),
      ...(signal ? { signal } : {}),
    });
    audio = speech.audio;
    timing = speech.timing;
    voice = speech.voice;
    if (speech.fallback) fallback = { reason: speech.fallback.reason, message: speech.fallback.message };
  } else {
    audio = await decodeAudio(req.speech.audio, { ...(signal ? { signal } : {}) });
  }
  report('speech', 100);
  const speechDone = performance.now();

  const engine: AnimationEngine =
    req.animator ??
    (await pickEngine(req.store, req.engine ?? 'auto', { ...(req.enhance ? { enhance: true } : {}) }));
  let animateDone = 0;
  try {
    const anim = await engine.animate({
      portrait: image,
      landmarks,
      audio,
      ...(timing ? { timing } : {}),
      ...(req.fps ? { fps: req.fps } : {}),
      ...(req.size ? { size: req.size } : {}),
      ...(req.headMotion !== undefined ? { headMotion: req.headMotion } : {}),
      ...(req.seed !== undefined ? { seed: req.seed } : {}),
      ...(signal ? { signal } : {}),
      onProgress: (f) => {
        report('animate', Math.round(f * 100));
        if (f >= 1) animateDone = performance.now();
      },
    });
    report('animate', 0);
    const video = await encodeMp4({
      frames: anim.frames,
      width: anim.width,
      height: anim.height,
      fps: anim.fps,
      audio,
      out: req.out,
      ...(req.maxBytes ? { maxBytes: req.maxBytes } : {}),
      ...(signal ? { signal } : {}),
      onProgress: (f) => {
        if (animateDone) report('encode', Math.round(f * 100));
      },
    });
    report('encode', 100);
    const end = performance.now();
    const result: TalkResult = {
      out: video.out,
      engine: engine.name,
      engineLabel: engine.label,
      voice,
      durationS: video.durationS,
      speechS: audio.samples.length / audio.sampleRate,
      frames: anim.frameCount,
      bytes: video.bytes,
      width: video.width,
      height: video.height,
      ...(fallback ? { fallback } : {}),
      seconds: {
        speech: (speechDone - clock) / 1000,
        animate: ((animateDone || end) - speechDone) / 1000,
        encode: (end - (animateDone || end)) / 1000,
      },
    };
    log('talk').info(
      { engine: result.engine, frames: result.frames, durationS: result.durationS, bytes: result.bytes },
      'talking portrait made',
    );
    return result;
  } finally {
    if (!req.animator) await engine.dispose();
  }
}

async function loadAnalyzer(store: ModelStore): Promise<FaceAnalyzer> {
  const { FaceAnalyzer } = await import('../face/analyzer.ts');
  return FaceAnalyzer.load(store);
}
