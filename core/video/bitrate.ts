/**
 * Choosing the video size and bitrate so an MP4 of a known duration fits a platform's file cap.
 * x264 runs with a VBV buffer (maxrate = bitrate, bufsize = one second of it), which bounds the
 * video bits of the whole file by bitrate x (duration + 1 s); the audio is constant-rate AAC.
 */

/** Upload caps: Discord without boosts 10 MiB, Telegram bots 50 MB. */
export const VIDEO_CAPS = { discord: 10 * 1024 * 1024, telegram: 50 * 1000 * 1000 } as const;
export type VideoPlatform = keyof typeof VIDEO_CAPS;

/** Bits per pixel per frame: below the floor a face turns to blocks, above the ceiling nothing improves. */
export const MIN_BPP = 0.02;
export const MAX_BPP = 0.15;
/** Fraction of the cap planned for; the rest covers container overhead and rate-control error. */
const SAFETY = 0.94;
/** Sizes tried, as fractions of the requested width and height, when the cap is tight. */
const SCALES = [1, 0.75, 0.5, 0.375, 0.25];

export interface EncodePlan {
  width: number;
  height: number;
  videoBps: number;
  audioBps: number;
}

const even = (v: number) => Math.max(2, Math.round(v / 2) * 2);

/** MP4 index and headers: about 16 KB plus some 24 bytes per video frame and AAC frame. */
export function muxOverheadBytes(durationS: number, fps: number, audioRate: number): number {
  return 16_384 + 24 * Math.ceil(durationS * fps + (durationS * audioRate) / 1024);
}

/**
 * The largest of the tried sizes whose bitrate at the cap reaches MIN_BPP, with the bitrate at
 * most MAX_BPP; undefined when even the smallest cannot fit.
 */
export function planEncode(o: {
  width: number;
  height: number;
  fps: number;
  durationS: number;
  audioRate: number;
  maxBytes: number;
}): EncodePlan | undefined {
  const budgetBits = (o.maxBytes * SAFETY - muxOverheadBytes(o.durationS, o.fps, o.audioRate)) * 8;
  for (const s of SCALES) {
    const width = even(o.width * s);
    const height = even(o.height * s);
    if (width < 64 || height < 64) break;
    const pixelsPerS = width * height * o.fps;
    // Speech keeps well at 32 kb/s AAC: give up audio quality before picture size.
    for (const audioBps of [64_000, 32_000]) {
      const fitBps = (budgetBits - audioBps * o.durationS) / (o.durationS + 1);
      if (fitBps >= MIN_BPP * pixelsPerS)
        return { width, height, audioBps, videoBps: Math.floor(Math.min(fitBps, MAX_BPP * pixelsPerS)) };
    }
  }
  return undefined;
}
