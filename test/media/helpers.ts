/** Test helpers for audio and video: make media with the real ffmpeg and eSpeak NG, inspect outputs. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function tmpDir(prefix = 'fc-media-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Run ffmpeg (test side: building inputs) quietly; throws on failure. */
export function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], {
    stdio: 'pipe',
  });
}

/** Speech from eSpeak NG into any format ffmpeg writes (by the output's extension and codec args). */
export function spokenFile(text: string, out: string, codecArgs: string[] = []): string {
  const wav = `${out}.src.wav`;
  execFileSync('espeak-ng', ['-v', 'en-us', '-w', wav, '--stdin'], {
    input: text,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  ffmpeg(['-i', wav, ...codecArgs, out]);
  execFileSync('rm', ['-f', wav]);
  return out;
}

export interface Probe {
  format: { duration?: string; format_name?: string; size?: string };
  streams: {
    codec_type: string;
    codec_name: string;
    width?: number;
    height?: number;
    pix_fmt?: string;
    duration?: string;
    nb_frames?: string;
    sample_rate?: string;
  }[];
}

/** ffprobe's own reading of a file (independent of the project's probe code). */
export function ffprobe(file: string): Probe {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', file], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as Probe;
}

/** The media code's private temporary folders in the system temp folder (what a leak would leave). */
export function projectTempEntries(): string[] {
  return readdirSync(os.tmpdir()).filter((n) => /^facechain-(audio|espeak)-/.test(n));
}

/**
 * A 2-second 8 kHz MP3 whose Xing/Info header claims `seconds`: what ffprobe reports as its
 * duration, although only 2 s of audio follow (so a refusal can only have come from the header).
 */
export function mp3Claiming(seconds: number, out: string): string {
  ffmpeg(['-f', 'lavfi', '-i', 'sine=f=440:d=2:r=8000', '-c:a', 'libmp3lame', '-b:a', '8k', out]);
  const b = readFileSync(out);
  let at = b.indexOf('Info');
  if (at < 0) at = b.indexOf('Xing');
  if (at < 0 || (b.readUInt32BE(at + 4) & 1) === 0) throw new Error('no frame count in the MP3 header');
  b.writeUInt32BE(Math.round((seconds * 8000) / 576), at + 8); // MPEG-2.5 layer III: 576 samples a frame
  writeFileSync(out, b);
  return out;
}
