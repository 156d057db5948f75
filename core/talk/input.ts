/**
 * Checks shared by every engine, so a bad request fails the same way whichever engine would
 * have run it: clear InputErrors for the user's part (audio), plain errors for the caller's.
 */
import { InputError } from '../../base/errors.ts';
import { type AnimationInput, DEFAULT_FPS, DEFAULT_SIZE } from './types.ts';

/** Longest clip an engine will animate (the job layer caps speech far lower: 60 s by default). */
export const MAX_ANIMATION_SECONDS = 600;

export interface CheckedInput extends AnimationInput {
  fps: number;
  size: number;
  headMotion: boolean;
  seed: number;
  durationS: number;
}

export function checkInput(input: AnimationInput): CheckedInput {
  const fps = input.fps ?? DEFAULT_FPS;
  const size = input.size ?? DEFAULT_SIZE;
  if (!Number.isInteger(fps) || fps < 1 || fps > 60)
    throw new InputError('bad_fps', `Frames per second must be a whole number from 1 to 60, got ${fps}.`);
  if (!Number.isInteger(size) || size < 64 || size > 2048 || size % 2 !== 0)
    throw new InputError(
      'bad_video_size',
      `Video size must be an even number of pixels from 64 to 2048, got ${size}.`,
    );
  const lm = input.landmarks;
  if (lm.length !== 68 || lm.some((p) => !Number.isFinite(p[0]) || !Number.isFinite(p[1])))
    throw new InputError('bad_landmarks', 'Animation needs the 68 face landmarks of the portrait.');
  const { width, height, data } = input.portrait;
  if (width < 1 || height < 1 || data.length !== width * height * 3)
    throw new InputError('bad_image_buffer', 'The portrait is not a complete RGB image.');
  const { samples, sampleRate } = input.audio;
  if (!Number.isFinite(sampleRate) || sampleRate < 1000 || sampleRate > 384000)
    throw new InputError('bad_audio', `Audio sample rate ${sampleRate} Hz is not usable.`);
  if (samples.length === 0) throw new InputError('empty_audio', 'The speech has no audio to animate.');
  const durationS = samples.length / sampleRate;
  if (durationS > MAX_ANIMATION_SECONDS)
    throw new InputError(
      'audio_too_long',
      `The speech lasts ${Math.round(durationS)} s; at most ${MAX_ANIMATION_SECONDS} s can be animated.`,
    );
  return {
    ...input,
    fps,
    size,
    headMotion: input.headMotion ?? true,
    seed: input.seed ?? 1,
    durationS,
  };
}

/** Let timers and I/O run between frames, so a cancel or a lock renewal is not starved. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
