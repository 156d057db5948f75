/**
 * The one module that locates and spawns ffmpeg and ffprobe. Both run as separate processes
 * (Debian's build is GPL-enabled; never linked into this process), with argument arrays, no shell,
 * `-nostdin` and a protocol whitelist, under a deadline and killed on cancel.
 */
import path from 'node:path';
import { NotAvailableError } from '../../base/errors.ts';
import { config } from '../config.ts';
import { Child, type ChildOptions, runChild } from './child.ts';

/** Protocols ffmpeg may open: local files and our own pipes, never the network. */
export const PROTOCOL_WHITELIST = 'file,pipe';

export interface MediaTools {
  ffmpeg: string;
  ffprobe: string;
  timeoutMs: number;
}

/** Where ffmpeg and ffprobe are, from the configuration (tests pass their own). */
export function mediaTools(c = config()): MediaTools {
  const ffmpeg = c.FACECHAIN_FFMPEG_PATH ?? 'ffmpeg';
  const ffprobe =
    c.FACECHAIN_FFPROBE_PATH ??
    (c.FACECHAIN_FFMPEG_PATH
      ? path.join(path.dirname(c.FACECHAIN_FFMPEG_PATH), path.basename(ffmpeg).replace(/ffmpeg/, 'ffprobe'))
      : 'ffprobe');
  return { ffmpeg, ffprobe, timeoutMs: c.FACECHAIN_FFMPEG_TIMEOUT_S * 1000 };
}

function missing(program: string, exe: string) {
  return () =>
    new NotAvailableError(
      'Audio and video processing',
      `${program} was not found (${exe}). Install it (Debian: apt-get install ffmpeg) or set FACECHAIN_${program.toUpperCase()}_PATH.`,
      { program },
    );
}

/**
 * A local path as ffmpeg must see it: `file:` + absolute path, so a name such as `pipe:1`,
 * `concat:a|b` or `-y` is a file name, never a protocol or an option.
 */
export function fileUrl(file: string): string {
  return `file:${path.resolve(file)}`;
}

type SpawnOptions = Omit<ChildOptions, 'name' | 'missing' | 'timeoutMs'> & { timeoutMs?: number };

/** Start ffmpeg with `-nostdin -hide_banner`; build every input with `inputArgs`. */
export function spawnFfmpeg(args: readonly string[], o: SpawnOptions = {}, tools = mediaTools()): Child {
  // The whitelist is a per-input option: refuse an input that was added without one.
  let from = 0;
  args.forEach((a, i) => {
    if (a !== '-i') return;
    if (!args.slice(from, i).includes('-protocol_whitelist'))
      throw new Error('ffmpeg input without a protocol whitelist');
    from = i + 1;
  });
  return new Child(tools.ffmpeg, ['-nostdin', '-hide_banner', '-loglevel', 'error', ...args], {
    timeoutMs: tools.timeoutMs,
    ...o,
    name: 'ffmpeg',
    missing: missing('ffmpeg', tools.ffmpeg),
  });
}

/** One ffmpeg input: its options, the protocol whitelist (local files and our pipes), `-i url`. */
export function inputArgs(url: string, options: readonly string[] = []): string[] {
  return ['-protocol_whitelist', PROTOCOL_WHITELIST, ...options, '-i', url];
}

export interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  duration?: string;
  pix_fmt?: string;
  nb_frames?: string;
}

export interface ProbeResult {
  /** Container duration in seconds, NaN when the container does not say. */
  durationS: number;
  formatName: string;
  streams: ProbeStream[];
  bitRate?: number;
}

/**
 * Read a file's container and stream headers with ffprobe (no decoding). `formats` limits which
 * demuxers may open it (a playlist format would otherwise open the files it lists).
 */
export async function probeFile(
  file: string,
  o: { formats?: readonly string[]; signal?: AbortSignal; timeoutMs?: number } = {},
  tools = mediaTools(),
): Promise<ProbeResult | undefined> {
  const args = ['-v', 'error', '-protocol_whitelist', PROTOCOL_WHITELIST];
  if (o.formats) args.push('-format_whitelist', o.formats.join(','));
  args.push('-show_entries', 'format=format_name,duration,bit_rate:stream', '-of', 'json', fileUrl(file));
  const r = await runChild(tools.ffprobe, args, {
    name: 'ffprobe',
    timeoutMs: o.timeoutMs ?? Math.min(tools.timeoutMs, 30_000),
    signal: o.signal,
    missing: missing('ffprobe', tools.ffprobe),
    maxStdoutBytes: 1024 * 1024,
  });
  if (r.code !== 0) return undefined;
  let json: {
    format?: { format_name?: string; duration?: string; bit_rate?: string };
    streams?: ProbeStream[];
  };
  try {
    json = JSON.parse(r.stdout.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!json.format) return undefined;
  const bitRate = Number(json.format.bit_rate);
  return {
    durationS: json.format.duration === undefined ? Number.NaN : Number(json.format.duration),
    formatName: json.format.format_name ?? '',
    streams: json.streams ?? [],
    ...(Number.isFinite(bitRate) ? { bitRate } : {}),
  };
}

/** `ffmpeg -version`'s first line; throws NotAvailableError when ffmpeg is missing. */
export async function ffmpegVersion(tools = mediaTools()): Promise<string> {
  const r = await runChild(tools.ffmpeg, ['-hide_banner', '-version'], {
    name: 'ffmpeg',
    timeoutMs: 10_000,
    missing: missing('ffmpeg', tools.ffmpeg),
  });
  return r.stdout.toString('utf8').split('\n')[0] ?? '';
}
