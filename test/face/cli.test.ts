/** The command line, run as a user would: `facechain analyze | compare | prepare`. */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeJpeg, flipRgb } from '../../core/image/codec.ts';
import { FIXTURES, fixtureRgb } from './helpers.ts';

const run = promisify(execFile);
const BIN = path.resolve('bin/facechain.js');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'facechain-cli-'));
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('facechain CLI', () => {
  it('analyze prints one JSON line per input, errors included, and fails when one failed', async () => {
    const text = path.join(tmp, 'notes.jpg');
    await writeFile(text, 'not a photo');
    const r = await cli(['analyze', path.join(FIXTURES, 'sample4.jpg'), text, '--embedding']);
    expect(r.code).toBe(1);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    const [ok, bad] = lines;
    expect(Object.keys(ok)).toEqual(['file', 'width', 'height', 'rotation', 'faces']);
    expect([ok.width, ok.height, ok.rotation, ok.faces.length]).toEqual([1920, 1448, 0, 4]);
    const face = ok.faces[0];
    expect(Object.keys(face)).toEqual([
      'box',
      'score',
      'landmarks',
      'pose',
      'eyesOpen',
      'sharpness',
      'age',
      'gender',
      'genderScore',
      'embedding',
    ]);
    expect(face.landmarks).toHaveLength(68);
    expect(face.embedding).toHaveLength(512);
    expect(bad).toEqual({
      file: text,
      error: { code: 'not_an_image', message: expect.stringContaining('not an image') },
    });
  });

  it('compare says the same person for a mirrored copy and not for someone else', async () => {
    const flipped = path.join(tmp, 'flipped.jpg');
    await writeFile(flipped, await encodeJpeg(flipRgb(await fixtureRgb('astronaut.png'))));
    const same = await cli(['compare', path.join(FIXTURES, 'astronaut.png'), flipped]);
    expect(same.code).toBe(0);
    expect(JSON.parse(same.stdout)).toMatchObject({ samePerson: true, threshold: 0.45 });
    const other = await cli([
      'compare',
      path.join(FIXTURES, 'astronaut.png'),
      path.join(FIXTURES, 'messi5.jpg'),
    ]);
    const res = JSON.parse(other.stdout);
    expect(res.samePerson).toBe(false);
    expect(res.similarity).toBeLessThan(0.3);
  });

  it('prepare writes the training set and reports each rejected photo', async () => {
    const out = path.join(tmp, 'set');
    const r = await cli([
      'prepare',
      path.join(FIXTURES, 'astronaut.png'),
      path.join(FIXTURES, 'sample2.jpg'),
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/accepted astronaut\.png -> images\/0\.png "<fcsks>, a /);
    expect(r.stdout).toMatch(/rejected sample2\.jpg: several_faces/);
    expect((await readdir(out)).sort()).toEqual(['images', 'metadata.jsonl', 'report.json']);
    expect(await readFile(path.join(out, 'metadata.jsonl'), 'utf8')).toMatch(
      /^\{"file_name": "0\.png", "text": "<fcsks>, a [a-z ,]+"\}\n$/,
    );
  });
});
