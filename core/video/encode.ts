/**
 * Talking-video encoding: raw RGB frames and mono PCM into an H.264 (yuv420p) + AAC MP4 with
 * faststart, sized to fit a platform's cap. Frames go to ffmpeg on pipe fd 3 and the audio on
 * fd 4, so no picture or sound of the person is written anywhere but the output; the output is
 * written under a temporary name beside `out` and renamed only when complete, so a cancel or a
 * failure leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import {
  CancelledError,
  FacechainError,
  InputError,
  isFacechainError,
  ServiceError,
  throwIfAborted,
} from '../../base/errors.ts';
import { type Pcm, durationS as pcmDuration, toF32le } from '../audio/pcm.ts';
import { fileUrl, inputArgs, type MediaTools, mediaTools, probeFile, spawnFfmpeg } from '../media/ffmpeg.ts';
import { planEncode, VIDEO_CAPS } from './bitrate.ts';

export { VIDEO_CAPS, type VideoPlatform } from './bitrate.ts';

export const DEFAULT_SIZE = 512;
export const DEFAULT_FPS = 25;
/** Longest video accepted (seconds of audio). */
export const MAX_VIDEO_SECONDS = 600;

export interface EncodeOptions {
  /** Raw RGB24 frames, width*height*3 bytes each. Fewer than the audio needs: the last one is held. */
  frames: AsyncIterable<Uint8Array>;
  width: number;
  height: number;
  fps: number;
  /** The sound track; the video lasts as long as it does. */
  audio: Pcm;
  out: string;
  /** File size cap in bytes (default VIDEO_CAPS.discord, the smallest). */
  maxBytes?: number;
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
  /** x264 preset (default veryfast). */
  preset?: string;
  tools?: MediaTools;
}

export interface EncodeResult {
  out: string;
  bytes: number;
  durationS: number;
  /** The output's size: smaller than the frames' when the cap forced it. */
  width: number;
  height: number;
}

const PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow'];

function validate(o: EncodeOptions): void {
  const bad = (what: string) => new FacechainError('bad_encode_options', `encodeMp4: ${what}.`);
  for (const [k, v] of [
    ['width', o.width],
    ['height', o.height],
  ] as const)
    if (!Number.isInteger(v) || v < 16 || v > 4096 || v % 2 !== 0)
      throw bad(`${k} ${v} must be an even integer from 16 to 4096`);
  if (!Number.isFinite(o.fps) || o.fps < 1 || o.fps > 60) throw bad(`fps ${o.fps} must be from 1 to 60`);
  if (!Number.isInteger(o.audio.sampleRate) || o.audio.sampleRate < 8000 || o.audio.sampleRate > 96_000)
    throw bad(`audio sample rate ${o.audio.sampleRate} must be from 8000 to 96000`);
  if (o.preset !== undefined && !PRESETS.includes(o.preset)) throw bad(`unknown preset ${o.preset}`);
  if (o.maxBytes !== undefined && (!Number.isFinite(o.maxBytes) || o.maxBytes < 64 * 1024))
    throw bad('maxBytes must be at least 64 KiB');
  const d = pcmDuration(o.audio);
  if (!(d > 0)) throw new InputError('no_audio', 'There is no sound to make a video of.');
  if (d > MAX_VIDEO_SECONDS)
    throw new InputError('video_too_long', `A video can last at most ${MAX_VIDEO_SECONDS} s.`, {
      context: { seconds: Math.round(d), max: MAX_VIDEO_SECONDS },
    });
}

/** Write one chunk; wait for the pipe to drain, or for the process to end (then stop writing). */
async function write(stream: Writable, chunk: Uint8Array, ended: Promise<void>): Promise<boolean> {
  if (stream.destroyed || stream.writableEnded) return false;
  if (stream.write(chunk)) return true;
  let onDrain: (() => void) | undefined;
  const drained = new Promise<boolean>((resolve) => {
    onDrain = () => resolve(true);
    stream.once('drain', onDrain);
  });
  const r = await Promise.race([drained, ended.then(() => false)]);
  if (onDrain) stream.off('drain', onDrain);
  return r;
}

/** Encode frames and audio to an MP4 at `out` that fits `maxBytes`. */
export async function encodeMp4(o: EncodeOptions): Promise<EncodeResult> {
  validate(o);
  throwIfAborted(o.signal);
  const tools = o.tools ?? mediaTools();
  const durationS = pcmDuration(o.audio);
  const maxBytes = o.maxBytes ?? VIDEO_CAPS.discord;
  const plan = planEncode({
    width: o.width,
    height: o.height,
    fps: o.fps,
    durationS,
    audioRate: o.audio.sampleRate,
    maxBytes,
  });
  if (!plan)
    throw new InputError(
      'video_too_large',
      `A ${Math.round(durationS)} s video cannot fit in ${Math.floor(maxBytes / 1048576)} MB. Use a shorter text or recording.`,
      { context: { seconds: Math.round(durationS), limit: maxBytes } },
    );
  const frameBytes = o.width * o.height * 3;
  const frameCount = Math.max(1, Math.ceil(durationS * o.fps - 1e-6));

  const out = path.resolve(o.out);
  const dirStat = await stat(path.dirname(out)).catch(() => undefined);
  if (!dirStat?.isDirectory())
    throw new FacechainError('bad_encode_options', `encodeMp4: the folder of ${out} does not exist.`);
  const part = path.join(path.dirname(out), `.${randomBytes(8).toString('hex')}.part.mp4`);

  const scaled = plan.width !== o.width || plan.height !== o.height;
  const args = [
    ...inputArgs('pipe:3', [
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-s',
      `${o.width}x${o.height}`,
      '-framerate',
      String(o.fps),
    ]),
    ...inputArgs('pipe:4', ['-f', 'f32le', '-ar', String(o.audio.sampleRate), '-ac', '1']),
    '-map',
    '0:v:0',
    '-map',
    '1:a:0',
    ...(scaled ? ['-vf', `scale=${plan.width}:${plan.height}:flags=area`] : []),
    '-c:v',
    'libx264',
    '-preset',
    o.preset ?? 'veryfast',
    '-pix_fmt',
    'yuv420p',
    '-b:v',
    String(plan.videoBps),
    '-maxrate',
    String(plan.videoBps),
    '-bufsize',
    String(plan.videoBps),
    '-c:a',
    'aac',
    '-b:a',
    String(plan.audioBps),
    '-t',
    durationS.toFixed(3),
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    fileUrl(part),
  ];

  const child = spawnFfmpeg(
    args,
    { signal: o.signal, stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
    tools,
  );
  const videoIn = child.process.stdio[3] as Writable;
  const audioIn = child.process.stdio[4] as Writable;
  const ended = child.exit.then(
    () => {},
    () => {},
  );
  const iterator = o.frames[Symbol.asyncIterator]();
  let iteratorDone = false;
  try {
    audioIn.end(toF32le(o.audio));
    let last: Buffer | undefined;
    let reported = -1;
    for (let i = 0; i < frameCount; i++) {
      throwIfAborted(o.signal);
      if (!iteratorDone) {
        const next = await iterator.next();
        if (next.done) iteratorDone = true;
        else {
          if (next.value.byteLength !== frameBytes)
            throw new FacechainError(
              'bad_frame',
              `encodeMp4: frame ${i} has ${next.value.byteLength} bytes, not ${o.width}x${o.height}x3 = ${frameBytes}.`,
            );
          // A copy: producers may reuse their frame buffer while the pipe still holds this one.
          last = Buffer.from(next.value);
        }
      }
      if (!last) throw new FacechainError('no_frames', 'encodeMp4: the animation produced no frames.');
      if (!(await write(videoIn, last, ended))) break;
      const fraction = Math.floor(((i + 1) / frameCount) * 100);
      if (fraction !== reported && o.onProgress) {
        reported = fraction;
        o.onProgress(Math.min(0.99, fraction / 100));
      }
    }
    videoIn.end();
    const exit = await child.exit;
    if (exit.code !== 0)
      throw new ServiceError('encode_failed', 'The video could not be encoded.', {
        context: { detail: exit.stderr.slice(-500) },
        retryable: false,
      });
    const bytes = (await stat(part)).size;
    if (bytes > maxBytes)
      throw new ServiceError(
        'video_over_cap',
        `The encoded video (${bytes} bytes) is over the cap of ${maxBytes}.`,
        {
          context: { bytes, limit: maxBytes },
          retryable: false,
        },
      );
    const probe = await probeFile(part, { formats: ['mov'], signal: o.signal }, tools);
    await rename(part, out);
    o.onProgress?.(1);
    return { out, bytes, durationS: probe?.durationS ?? durationS, width: plan.width, height: plan.height };
  } catch (e) {
    child.kill(isFacechainError(e) ? e : new CancelledError());
    await child.exit.catch(() => {});
    throw o.signal?.aborted ? new CancelledError() : e;
  } finally {
    if (!iteratorDone) await iterator.return?.().catch(() => {});
    await rm(part, { force: true });
  }
}
