/** `facechain talk`, run as a user would: one JSON line out, specific errors, hostile inputs. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodePng } from '../../core/image/codec.ts';
import { mp3Claiming } from '../media/helpers.ts';
import { runCliCaptured } from '../unit/run-cli.ts';
import { FACES } from './helpers.ts';

const run = promisify(execFile);
const BIN = path.resolve('bin/facechain.js');
let tmp: string;

async function cli(
  args: string[],
): Promise<{ code: number; lines: Record<string, unknown>[]; stderr: string }> {
  let stdout: string;
  let stderr: string;
  let code = 0;
  try {
    ({ stdout, stderr } = await run(process.execPath, [BIN, 'talk', ...args], { maxBuffer: 1 << 24 }));
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    ({ stdout, stderr, code } = err);
  }
  const lines = stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, lines, stderr };
}

/** The same command run in this process (no start-up cost), its stdout captured. */
async function inProcess(args: string[]): Promise<{ code: number; lines: Record<string, unknown>[] }> {
  const { command } = await import('../../bot/cli/talk.ts');
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  try {
    const code = await command.run(args);
    return {
      code,
      lines: out
        .join('')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    };
  } finally {
    spy.mockRestore();
  }
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'facechain-talk-cli-'));
});

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('facechain talk', () => {
  it('speaks text with the offline voice into an MP4 whose odd name is kept, and prints one JSON line', async () => {
    // Spaces, quotes, a dollar sign, non-ASCII and a leading dash: nothing is interpreted by a shell.
    const portrait = path.join(tmp, '-my "best" photo $(id).png');
    await copyFile(path.join(FACES, 'astronaut.png'), portrait);
    const out = path.join(tmp, "vidéo 'finale' ;rm -rf.mp4");
    const r = await cli([
      '--text',
      'Hi <speak>there</speak> & "friends"\u0007, this is fine.',
      '--offline',
      '--engine',
      'basic',
      '--out',
      out,
      '--',
      portrait,
    ]);
    expect(r.code, JSON.stringify(r.lines)).toBe(0);
    expect(r.lines).toHaveLength(1);
    const line = r.lines[0]!;
    expect(Object.keys(line)).toEqual(['out', 'engine', 'voice', 'durationS', 'frames', 'bytes']);
    expect(line).toMatchObject({ out, engine: 'basic', voice: expect.stringMatching(/^espeak:/) });
    expect(line.durationS as number).toBeGreaterThan(1);
    expect(Math.abs((line.frames as number) - (line.durationS as number) * 25)).toBeLessThanOrEqual(1);
    expect(existsSync(out)).toBe(true);
    // Only the output and the portrait: no temporary files of the face or the voice left.
    expect((await readdir(tmp)).sort()).toEqual([path.basename(portrait), path.basename(out)].sort());
  });

  it('usage errors exit 2 with the message and usage on stderr, nothing on stdout', async () => {
    const photo = path.join(FACES, 'astronaut.png');
    // One as a separate process (the exit status a shell sees), the rest in this process.
    const spawned = await cli([photo, '--text', 'hi']);
    expect([spawned.code, spawned.lines]).toEqual([2, []]);
    expect(spawned.stderr).toMatch(/^facechain talk: --out is required\.\nusage: facechain talk /);
    const cases: [string[], RegExp][] = [
      [['--text', 'hi', '--out', 'x.mp4'], /Expected 1 portrait, got 0/],
      [[], /--out is required/],
      [[photo, '--text', 'hi', '--audio', 'a.wav', '--out', 'x.mp4'], /either --text or --audio/],
      [[photo, '--out', 'x.mp4'], /either --text or --audio/],
      [[photo, '--text', 'hi', '--out', 'x.avi'], /--out must end in \.mp4/],
      [[photo, '--text', 'hi', '--out', 'x.mp4', '--speed', '2'], /Unknown option --speed/],
      [[photo, '--out', 'x.mp4', '--text'], /--text needs a value/],
      [
        [photo, '--text', 'hi', '--out', 'x.mp4', '--engine', 'wav2lip'],
        /Unknown animation engine "wav2lip"/,
      ],
      [[photo, '--audio', 'a.wav', '--voice', 'x', '--out', 'x.mp4'], /--voice and --offline go with --text/],
      [[photo, '--text', 'hi', '--out', 'x.mp4', '--seed', '1.5'], /--seed must be a whole number/],
      [[photo, '--text', 'hi', '--out', 'x.mp4', '--platform', 'irc'], /--platform must be/],
    ];
    for (const [args, why] of cases) {
      const { code, stdout, stderr } = await runCliCaptured(['talk', ...args]);
      expect(code, args.join(' ')).toBe(2);
      expect(stdout, args.join(' ')).toBe('');
      expect(stderr, args.join(' ')).toMatch(why);
    }
  });

  it('hostile inputs get specific errors and leave no file: corrupt voice file, a 3-hour recording, no face, too much text, missing GPU engine', async () => {
    const photo = path.join(FACES, 'astronaut.png');
    const corrupt = path.join(tmp, 'voice message (1).ogg');
    await writeFile(corrupt, Buffer.concat([Buffer.from('OggS'), Buffer.alloc(3000, 0x5a)]));
    const blank = path.join(tmp, 'blank.png');
    await writeFile(
      blank,
      await encodePng({ data: new Uint8Array(200 * 200 * 3).fill(128), width: 200, height: 200 }),
    );
    // An MP3 whose header says three hours: refused by that duration before decoding.
    const hours = mp3Claiming(10_800, path.join(tmp, 'three hours.mp3'));
    const out = path.join(tmp, 'never.mp4');
    const expectations: [string[], string][] = [
      [[photo, '--audio', hours, '--out', out], 'audio_too_long'],
      [[photo, '--audio', corrupt, '--out', out], 'not_audio'],
      [[photo, '--audio', path.join(tmp, 'missing.ogg'), '--out', out], 'unreadable_file'],
      [[blank, '--text', 'hello', '--offline', '--out', out], 'no_face'],
      [[photo, '--text', 'x'.repeat(10_000), '--offline', '--out', out], 'text_too_long'],
      [[photo, '--text', 'hello', '--offline', '--engine', 'sadtalker', '--out', out], 'not_available'],
    ];
    for (const [args, code] of expectations) {
      const r = code === 'not_audio' ? await cli(args) : await inProcess(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.lines).toEqual([{ error: { code, message: expect.any(String) } }]);
      expect(existsSync(out)).toBe(false);
    }
    expect((await readdir(tmp)).filter((f) => f.includes('.part'))).toEqual([]);
  });
});
