/** Test helpers for audio and video: make media with the real ffmpeg and eSpeak NG, inspect outputs. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
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

/** The project's temporary folders in the system temp folder (what a leak would leave). */
export function projectTempEntries(): string[] {
  return readdirSync(os.tmpdir()).filter((n) => n.startsWith('facechain-'));
}

/** A WAV header claiming `seconds` of 8 kHz 8-bit mono audio, followed by `actualSeconds` of it. */
export function lyingWav(seconds: number, actualSeconds: number): Uint8Array {
  const rate = 8000;
  const claimed = seconds * rate;
  const actual = Math.round(actualSeconds * rate);
  const b = Buffer.alloc(44 + actual, 128);
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(36 + claimed, 4);
  b.write('WAVE', 8, 'ascii');
  b.write('fmt ', 12, 'ascii');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate, 28);
  b.writeUInt16LE(1, 32);
  b.writeUInt16LE(8, 34);
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(claimed, 40);
  for (let i = 0; i < actual; i++)
    b[44 + i] = 128 + Math.round(60 * Math.sin((2 * Math.PI * 440 * i) / rate));
  return new Uint8Array(b);
}
