/**
 * The animation-engine contract: one interface, several engines (the CPU `basic` animator on
 * every deployment, ONNX talking-head models where they are installed). An engine turns a
 * portrait, its 68 landmarks and speech audio into a stream of RGB frames; frames are produced
 * one at a time so a minute of video never sits in memory.
 */
import type { Pcm } from '../audio/pcm.ts';
import type { RgbImage } from '../image/codec.ts';
import type { Point } from '../image/warp.ts';
import type { SpeechTiming } from '../speech/timing.ts';

/** Mono PCM, samples in -1..1. */
export type PcmAudio = Pcm;

/** One timed unit of speech (word, phoneme or viseme), in seconds. */
export type TimedUnit = SpeechTiming;

export type EngineName = 'basic' | 'sadtalker';

export interface AnimationInput {
  /** The upright portrait the landmarks refer to. */
  portrait: RgbImage;
  /** 68 landmarks (iBUG order) in analysis coordinates: pixel i spans [i, i+1). */
  landmarks: readonly Point[];
  audio: PcmAudio;
  /** Phoneme, viseme or word timing of the speech, when the voice gives it. */
  timing?: readonly TimedUnit[];
  /** Frames per second (default 25). */
  fps?: number;
  /** Output side in pixels (square, even; default 512). */
  size?: number;
  /** Slight natural head motion (default true). Off: only the face region changes. */
  headMotion?: boolean;
  /** Seed of the blink and head-motion schedules (default 1): the same input gives the same frames. */
  seed?: number;
  signal?: AbortSignal;
  /** Share of frames made, 0..1. */
  onProgress?: (fraction: number) => void;
}

/** What an engine returns before any frame is made: the stream and its size. */
export interface Animation {
  engine: EngineName;
  width: number;
  height: number;
  fps: number;
  frameCount: number;
  /** RGB24 frames, width x height x 3 bytes each; a fresh buffer per frame. */
  frames: AsyncIterable<Uint8Array>;
}

export interface AnimationEngine {
  readonly name: EngineName;
  /** A short human description (said in replies: "basic animator", "SadTalker"). */
  readonly label: string;
  animate(input: AnimationInput): Promise<Animation>;
  dispose(): Promise<void>;
}

export const DEFAULT_FPS = 25;
export const DEFAULT_SIZE = 512;

/** Frames for `seconds` of audio, as the encoder counts them (the video lasts as long as the speech; at least one). */
export function frameCountFor(seconds: number, fps: number): number {
  return Math.max(1, Math.ceil(seconds * fps - 1e-6));
}
