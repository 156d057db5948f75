import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../core/image/codec.ts';

const run = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'fc-gen-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = (args: string[]) =>
  run(process.execPath, ['bin/facechain.js', 'generate', ...args], {
    env: { ...process.env, FACECHAIN_LOG_LEVEL: 'warn' },
  });

describe('facechain generate', () => {
  it('writes a fixture model, generates PNGs and metadata from it, with a canny ControlNet', async () => {
    const model = path.join(dir, 'model');
    await cli(['--write-fixture', model]);
    expect(existsSync(path.join(model, 'unet/model.onnx'))).toBe(true);
    const sq = { data: new Uint8Array(64 * 64 * 3), width: 64, height: 64 };
    for (let y = 16; y < 48; y++) sq.data.fill(255, (y * 64 + 16) * 3, (y * 64 + 48) * 3);
    writeFileSync(path.join(dir, 'square.png'), await encodePng(sq));
    const out = path.join(dir, 'out');
    const r = await cli([
      '--model',
      model,
      '--prompt',
      'a photo of a cat',
      '--size',
      '64x64',
      '--steps',
      '4',
      '--seed',
      '7',
      '--count',
      '2',
      '--control',
      `canny=${path.join(dir, 'square.png')},scale=0.5,canny`,
      '--out',
      out,
    ]);
    expect(r.stdout).toMatch(/7\.png/);
    expect(existsSync(path.join(out, '8.png'))).toBe(true);
    const meta = JSON.parse(readFileSync(path.join(out, 'metadata.json'), 'utf8'));
    expect(meta).toMatchObject({
      seeds: [7, 8],
      steps: 4,
      width: 64,
      height: 64,
      controls: [{ model: 'canny', scale: 0.5 }],
    });
  });

  it('explains bad arguments', async () => {
    await expect(cli(['--prompt', 'x', '--size', 'big', '--out', dir])).rejects.toMatchObject({
      stderr: expect.stringMatching(/--size must look like 512x768/),
    });
    await expect(
      cli(['--model', path.join(dir, 'none'), '--prompt', 'x', '--out', dir]),
    ).rejects.toMatchObject({
      stderr: expect.stringMatching(/does not exist.*\[model_missing_file\]/),
    });
  });
});
