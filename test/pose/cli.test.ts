/** `facechain pose | segment | tryon` run as a user would: JSON lines, files written, errors. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, encodeJpeg, extractRgb } from '../../core/image/codec.ts';
import { isSkeletonImage } from '../../core/pose/skeleton.ts';
import { runCliCaptured } from '../unit/run-cli.ts';
import { BODY, bytes, FACES, photo } from './helpers.ts';

const run = promisify(execFile);
const BIN = path.resolve('bin/facechain.js');
// biome-ignore lint/suspicious/noExplicitAny: JSON lines of several shapes, checked field by field below.
type Line = Record<string, any>;

async function cli(args: string[]): Promise<{ code: number; lines: Line[]; stderr: string }> {
  let stdout: string;
  let stderr: string;
  let code = 0;
  try {
    ({ stdout, stderr } = await run(process.execPath, [BIN, ...args], { maxBuffer: 16 * 1024 * 1024 }));
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    ({ stdout, stderr, code } = err);
  }
  const lines = stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  return { code, lines, stderr };
}

type Run = Awaited<ReturnType<typeof cli>>;
let tmp: string;
let poseRun: Run;
let segmentRun: Run;
let tryonRun: Run;
let userFile: string;
// The three commands start together (each process spends seconds starting up and loading models).
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'facechain-pose-cli-'));
  // The user: one face cut out of sample2.jpg (the rightmost), as a JPEG chat photo.
  const s2 = await photo(`${FACES}/sample2.jpg`);
  userFile = path.join(tmp, 'user.jpg');
  await writeFile(userFile, await encodeJpeg(extractRgb(s2, 1130, 150, 560, 600), { quality: 90 }));
  [poseRun, segmentRun, tryonRun] = await Promise.all([
    cli([
      'pose',
      `${FACES}/messi5.jpg`,
      `${BODY}/standing.png`,
      path.join(tmp, 'missing.jpg'),
      '--out',
      path.join(tmp, 'skeleton.png'),
    ]),
    cli([
      'segment',
      `${FACES}/messi5.jpg`,
      '--garment',
      '--out',
      path.join(tmp, 'mask.png'),
      '--overlay',
      path.join(tmp, 'overlay.png'),
    ]),
    cli(['tryon', userFile, `${FACES}/astronaut.png`, '--out', path.join(tmp, 'result.jpg')]),
  ]);
}, 120_000);
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('facechain pose / segment / tryon', () => {
  it('pose: one line per photo with 18 OpenPose keypoints per person, a skeleton PNG, errors inline', async () => {
    const missing = path.join(tmp, 'missing.jpg');
    const r = poseRun;
    expect(r.code).toBe(1);
    expect(r.lines).toHaveLength(3);
    const [messi, standing, bad] = r.lines;
    expect(Object.keys(messi)).toEqual(['file', 'people', 'out']);
    expect(messi.people).toHaveLength(1);
    expect(Object.keys(messi.people[0])).toEqual(['box', 'score', 'keypoints']);
    expect(messi.people[0].keypoints).toHaveLength(18);
    for (const k of messi.people[0].keypoints) expect(k).toHaveLength(3);
    expect(standing.people[0].keypoints).toHaveLength(18);
    expect(messi.out).toBe(path.join(tmp, 'skeleton-1.png'));
    const sk = await decodeImage(bytes(messi.out));
    expect([sk.width, sk.height]).toEqual([548, 342]);
    expect(isSkeletonImage(sk)).toBe(true);
    expect(bad).toEqual({ file: missing, error: { code: 'unreadable_file', message: expect.any(String) } });
  });

  it('segment --garment: a grey mask of the photo size, its coverage and where it came from; an overlay', async () => {
    const r = segmentRun;
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(r.lines[0]).slice(0, 3)).toEqual(['file', 'out', 'coverage']);
    expect(r.lines[0].source).toBe('worn');
    expect(r.lines[0].coverage).toBeGreaterThan(0.05);
    expect(r.lines[0].coverage).toBeLessThan(0.15);
    const mask = await decodeImage(bytes(r.lines[0].out));
    expect([mask.width, mask.height]).toEqual([548, 342]);
    let grey = true;
    for (let i = 0; i < mask.data.length; i += 3)
      if (mask.data[i] !== mask.data[i + 1] || mask.data[i] !== mask.data[i + 2]) grey = false;
    expect(grey).toBe(true);
    expect((await decodeImage(bytes(r.lines[0].overlay))).width).toBe(548);
  });

  it('tryon: {"out","engine","likeness"} for a user photo and a garment worn in a photo', async () => {
    const r = tryonRun;
    const out = path.join(tmp, 'result.jpg');
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(r.lines[0])).toEqual(['out', 'engine', 'likeness']);
    expect(r.lines[0].engine).toBe('basic');
    expect(r.lines[0].likeness).toBeGreaterThanOrEqual(0.6);
    expect((await decodeImage(bytes(out))).width).toBe(512);
  });

  it('usage mistakes exit 2 with the message on stderr and nothing on stdout, before any model loads', async () => {
    const cases: [string[], RegExp][] = [
      [['pose'], /Expected at least 1 photo, got 0/],
      [['pose', 'x.jpg', '--bogus'], /Unknown option --bogus/],
      [['pose', 'x.jpg', '--out', 'skeleton.jpg'], /--out must end in \.png/],
      [['segment', 'x.jpg'], /--out is required/],
      [['tryon', 'a.jpg', '--out', 'r.png'], /Expected 2/],
    ];
    for (const [argv, why] of cases) {
      const { code, stdout, stderr } = await runCliCaptured(argv);
      expect(code, argv.join(' ')).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toMatch(new RegExp(`^facechain ${argv[0]}: `));
      expect(stderr).toMatch(why);
    }
  });
});
