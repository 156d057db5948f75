/**
 * The motion of a whole clip, computed before any frame is drawn (a few floats per frame, so even
 * a minute is small): mouth opening and lip shape from the speech, blinks every 2-6 seconds and a
 * slight head motion, both from a seeded generator so the same input always gives the same video.
 *
 * Mouth: with phoneme or viseme timing, each sound's shape (smoothed across neighbours, as
 * speech coarticulates) scaled by the loudness, plus a share of the loudness itself; with word
 * timing only, the loudness inside words; with no timing, the loudness envelope alone.
 */
import { smooth, speechEnvelope } from './envelope.ts';
import type { HeadPose } from './rig.ts';
import type { PcmAudio, TimedUnit } from './types.ts';
import { shapeTrack } from './visemes.ts';

export interface MotionTrack {
  frames: number;
  open: Float32Array;
  width: Float32Array;
  blink: Float32Array;
  /** Head pose per frame (all zero when head motion is off). */
  angle: Float32Array;
  dx: Float32Array;
  dy: Float32Array;
  scale: Float32Array;
  /** Frame indices at which a blink is fully closed (for tests and figures). */
  blinkFrames: number[];
  /** The face size the head motion was scaled by (eye distance, px). */
  faceSize: number;
}

export interface MotionOptions {
  audio: PcmAudio;
  timing?: readonly TimedUnit[];
  fps: number;
  frames: number;
  seed: number;
  headMotion: boolean;
  /** Face size in pixels (eye distance), scaling the head's motion. */
  faceSize: number;
}

/** Deterministic 32-bit generator (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0 || 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Blink timing: close, hold, open (seconds). */
const CLOSE_S = 0.08;
const HOLD_S = 0.04;
const OPEN_S = 0.14;
export const BLINK_MIN_S = 2;
export const BLINK_MAX_S = 6;

/** Head motion amplitudes: radians, and shares of the eye distance. */
const HEAD_ANGLE = (1.6 * Math.PI) / 180;
const HEAD_SHIFT = 0.035;
const HEAD_NOD = 0.04;
const HEAD_SCALE = 0.008;
/** Head motion fades in over this long, so the first frame is the portrait as it was. */
const HEAD_FADE_S = 0.6;

/** The motion of a face crop: faceSize from its 68 landmarks' outer eye corners. */
export function motionForCrop(
  landmarks: ReadonlyArray<readonly [number, number] | number[]>,
  o: Omit<MotionOptions, 'faceSize'>,
): MotionTrack {
  const eyes = Math.hypot(landmarks[45]![0]! - landmarks[36]![0]!, landmarks[45]![1]! - landmarks[36]![1]!);
  return buildMotion({ ...o, faceSize: eyes });
}

export function buildMotion(o: MotionOptions): MotionTrack {
  const { fps, frames } = o;
  const env = smooth(speechEnvelope(o.audio, fps, frames), 0.6);
  const open = new Float32Array(frames);
  const width = new Float32Array(frames);
  const track = o.timing?.length ? shapeTrack(o.timing, fps, frames) : undefined;
  if (track?.shaped) {
    const target = smooth(track.open, 0.9);
    const shape = smooth(track.width, 1.2);
    for (let i = 0; i < frames; i++) {
      const gate = Math.min(1, env[i]! * 2.5);
      open[i] = 0.65 * target[i]! * gate + 0.35 * env[i]!;
      width[i] = shape[i]! * gate;
    }
  } else if (track) {
    const inWord = smooth(track.voiced, 1);
    for (let i = 0; i < frames; i++) open[i] = env[i]! * inWord[i]!;
  } else open.set(env);

  const rand = seededRandom(o.seed);
  const blink = new Float32Array(frames);
  const blinkFrames: number[] = [];
  let t = 0.6 + rand() * 1.8;
  const end = frames / fps;
  while (t < end) {
    for (let i = Math.max(0, Math.floor(t * fps)); i < frames; i++) {
      const dt = (i + 0.5) / fps - t;
      if (dt > CLOSE_S + HOLD_S + OPEN_S) break;
      blink[i] = Math.max(blink[i]!, blinkCurve(dt));
    }
    const closed = Math.round((t + CLOSE_S + HOLD_S / 2) * fps - 0.5);
    if (closed < frames) blinkFrames.push(closed);
    t += BLINK_MIN_S + rand() * (BLINK_MAX_S - BLINK_MIN_S);
  }

  const angle = new Float32Array(frames);
  const dx = new Float32Array(frames);
  const dy = new Float32Array(frames);
  const scale = new Float32Array(frames);
  if (o.headMotion) {
    const sway = (amp: number) => {
      // Three slow sines (0.1-0.6 Hz) with random phases, normalised to peak about `amp`.
      const f = [0.1 + rand() * 0.15, 0.25 + rand() * 0.15, 0.45 + rand() * 0.15];
      const ph = [rand(), rand(), rand()].map((p) => p * 2 * Math.PI);
      const w = [0.55, 0.3, 0.15];
      return (time: number) =>
        amp * w.reduce((s, wk, k) => s + wk * Math.sin(2 * Math.PI * f[k]! * time + ph[k]!), 0);
    };
    const a = sway(HEAD_ANGLE);
    const x = sway(HEAD_SHIFT * o.faceSize);
    const y = sway(HEAD_SHIFT * 0.6 * o.faceSize);
    const s = sway(HEAD_SCALE);
    // Emphasis: the head dips slightly with the louder stretches of speech.
    const nod = smooth(env, 0.25 * fps);
    for (let i = 0; i < frames; i++) {
      const time = i / fps;
      const fade = Math.min(1, time / HEAD_FADE_S);
      const k = fade * fade * (3 - 2 * fade);
      angle[i] = k * a(time);
      dx[i] = k * x(time);
      dy[i] = k * (y(time) + HEAD_NOD * o.faceSize * nod[i]!);
      scale[i] = k * s(time);
    }
  }
  return { frames, open, width, blink, angle, dx, dy, scale, blinkFrames, faceSize: o.faceSize };
}

/** Lid closure 0..1 at dt seconds after a blink starts. */
function blinkCurve(dt: number): number {
  if (dt < 0) return 0;
  const ease = (x: number) => x * x * (3 - 2 * x);
  if (dt < CLOSE_S) return ease(dt / CLOSE_S);
  if (dt < CLOSE_S + HOLD_S) return 1;
  const r = (dt - CLOSE_S - HOLD_S) / OPEN_S;
  return r < 1 ? 1 - ease(r) : 0;
}

export function headAt(m: MotionTrack, i: number): HeadPose {
  return { angle: m.angle[i]!, dx: m.dx[i]!, dy: m.dy[i]!, scale: m.scale[i]! };
}
