/**
 * Audio from users (Telegram voice notes in OGG/Opus, MP3/M4A/WAV files, Discord and web
 * uploads) to mono PCM through ffmpeg. The duration is read from the headers first, so an
 * over-long file is refused before it is decoded; decoding is capped at the limit anyway (a
 * stream whose header does not say how long it is). Loudness: see normalizeLoudness.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InputError, isFacechainError, throwIfAborted } from '../../base/errors.ts';
import { config } from '../config.ts';
import { fileUrl, inputArgs, type MediaTools, mediaTools, probeFile, spawnFfmpeg } from '../media/ffmpeg.ts';
import { fromF32le, normalizeLoudness, type Pcm } from './pcm.ts';

export type { Pcm } from './pcm.ts';

/** Demuxers an audio input may be opened with (playlists and image formats are not among them). */
export const AUDIO_DEMUXERS = [
  'ogg',
  'mp3',
  'mov',
  'matroska',
  'wav',
  'flac',
  'aac',
  'amr',
  'caf',
  'aiff',
  'w64',
] as const;

export const DEFAULT_MAX_AUDIO_BYTES = 50 * 1024 * 1024;
/** Decoded length allowed past the header's duration and the cap (codec padding, rounding). */
const SLACK_S = 0.25;

export interface DecodeOptions {
  /** Longest accepted audio, seconds (default FACECHAIN_TALK_MAX_AUDIO_SECONDS, 60). */
  maxSeconds?: number;
  signal?: AbortSignal;
  /** Output sample rate (default 16000). */
  targetRate?: number;
  /** Largest accepted file (default 50 MiB). */
  maxBytes?: number;
  /** Skip loudness normalisation (the encoder's own audio, tests). */
  normalize?: boolean;
  tools?: MediaTools;
}

const notAudio = (detail: string) =>
  new InputError(
    'not_audio',
    `The file is not audio that can be played (${detail}). Send a voice message, or an MP3, M4A, OGG or WAV file.`,
  );

const tooLong = (seconds: number, max: number) =>
  new InputError(
    'audio_too_long',
    `The audio is ${Math.round(seconds)} s long; at most ${max} s can be used. Send a shorter recording.`,
    { context: { seconds: Math.round(seconds), max } },
  );

/** Decode audio bytes or a file to mono PCM, loudness-normalised. */
export async function decodeAudio(input: Uint8Array | string, o: DecodeOptions = {}): Promise<Pcm> {
  const maxSeconds = o.maxSeconds ?? config().FACECHAIN_TALK_MAX_AUDIO_SECONDS;
  const maxBytes = o.maxBytes ?? DEFAULT_MAX_AUDIO_BYTES;
  const rate = o.targetRate ?? 16_000;
  if (!Number.isInteger(rate) || rate < 4000 || rate > 192_000)
    throw new InputError('bad_sample_rate', `Sample rate ${rate} is not between 4000 and 192000.`);
  throwIfAborted(o.signal);

  let tmp: string | undefined;
  try {
    let file: string;
    if (typeof input === 'string') {
      const st = await stat(input).catch(() => undefined);
      if (!st?.isFile()) throw new InputError('no_such_file', `There is no audio file at ${input}.`);
      if (st.size > maxBytes) throw tooLarge(st.size, maxBytes);
      if (st.size === 0) throw notAudio('the file is empty');
      file = input;
    } else {
      if (input.byteLength > maxBytes) throw tooLarge(input.byteLength, maxBytes);
      if (input.byteLength === 0) throw notAudio('the file is empty');
      // ffprobe needs a seekable file to read an OGG's length from its last page. The copy is
      // private to this process (0700 folder, 0600 file) and removed in `finally`.
      tmp = await mkdtemp(path.join(os.tmpdir(), 'facechain-audio-'));
      file = path.join(tmp, `in-${randomBytes(6).toString('hex')}`);
      await writeFile(file, input, { mode: 0o600 });
    }
    return await decodeFile(file, maxSeconds, rate, o);
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

function tooLarge(bytes: number, max: number) {
  return new InputError(
    'audio_too_large',
    `The audio file is ${Math.ceil(bytes / 1048576)} MB; at most ${Math.floor(max / 1048576)} MB can be used.`,
    { context: { size: bytes, limit: max } },
  );
}

async function decodeFile(file: string, maxSeconds: number, rate: number, o: DecodeOptions): Promise<Pcm> {
  const tools = o.tools ?? mediaTools();
  const probe = await probeFile(file, { formats: AUDIO_DEMUXERS, signal: o.signal }, tools);
  if (!probe) throw notAudio('no known audio format');
  const audio = probe.streams.find((s) => s.codec_type === 'audio');
  if (!audio) throw notAudio('it has no sound track');
  const streamS = Number(audio.duration);
  const headerS = Number.isFinite(probe.durationS) ? probe.durationS : streamS;
  if (Number.isFinite(headerS) && headerS > maxSeconds + SLACK_S) throw tooLong(headerS, maxSeconds);

  // Decode at most the cap plus slack: a header that lies short cannot make us decode hours.
  const capS = maxSeconds + SLACK_S + 0.05;
  const child = spawnFfmpeg(
    [
      ...inputArgs(fileUrl(file), ['-format_whitelist', AUDIO_DEMUXERS.join(',')]),
      '-map',
      '0:a:0',
      '-vn',
      '-sn',
      '-dn',
      '-t',
      capS.toFixed(3),
      '-ac',
      '1',
      '-ar',
      String(rate),
      '-f',
      'f32le',
      'pipe:1',
    ],
    { signal: o.signal, stdio: ['ignore', 'pipe', 'pipe'] },
    tools,
  );
  const chunks: Buffer[] = [];
  child.process.stdout?.on('data', (d: Buffer) => chunks.push(d));
  let exit: Awaited<typeof child.exit>;
  try {
    exit = await child.exit;
  } catch (e) {
    if (isFacechainError(e)) throw e;
    throw notAudio('it could not be decoded');
  }
  const pcm = fromF32le(Buffer.concat(chunks), rate);
  if (exit.code !== 0 || pcm.samples.length === 0)
    throw notAudio(pcm.samples.length === 0 ? 'no sound could be decoded' : 'it is damaged');
  const seconds = pcm.samples.length / rate;
  if (seconds > maxSeconds + SLACK_S) throw tooLong(Number.isFinite(headerS) ? headerS : seconds, maxSeconds);
  return o.normalize === false ? pcm : normalizeLoudness(pcm).pcm;
}
