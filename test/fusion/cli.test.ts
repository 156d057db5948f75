import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { command } from '../../bot/cli/fuse.ts';
import { decodeImage } from '../../core/image/codec.ts';

const OUT = 'test/.artifacts/fusion';
const F = 'test/fixtures/faces';

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => {
    out += s;
    return true;
  }) as typeof process.stdout.write;
  try {
    return { code: await command.run(argv), out };
  } finally {
    process.stdout.write = write;
  }
}

describe('facechain fuse', () => {
  it('writes the fused image and prints the chosen face and likeness', async () => {
    mkdirSync(OUT, { recursive: true });
    const file = `${OUT}/cli-astronaut-into-sample4-3.png`;
    const r = await run([`${F}/astronaut.png`, `${F}/sample4.jpg`, '--face', '3', '--out', file]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary).toMatchObject({ face: 3, faces: 4, method: 'fusion+landmark-warp' });
    expect(summary.likeness).toBeGreaterThanOrEqual(0.6);
    expect(existsSync(file)).toBe(true);
    const img = await decodeImage(readFileSync(file));
    expect([img.width, img.height]).toEqual([1920, 1448]);
  });

  it('rejects bad arguments with specific messages', async () => {
    await expect(
      run([`${F}/astronaut.png`, `${F}/sample4.jpg`, '--face', 'two', '--out', 'x.png']),
    ).rejects.toThrow(/--face must be a whole number/);
    await expect(
      run([`${F}/astronaut.png`, `${F}/sample4.jpg`, '--blend', 'soft', '--out', 'x.png']),
    ).rejects.toThrow(/--blend must be feather or poisson/);
    await expect(run([`${F}/astronaut.png`, `${F}/sample4.jpg`, '--out', 'x.bmp'])).rejects.toThrow(
      /\.png, \.jpg or \.webp/,
    );
    await expect(run([`${F}/astronaut.png`, `${F}/sample4.jpg`, '--fast', '--out', 'x.png'])).rejects.toThrow(
      /Unknown option --fast/,
    );
    await expect(
      run([`${F}/astronaut.png`, `${F}/sample2.jpg`, '--face', '5', '--out', `${OUT}/never.png`]),
    ).rejects.toThrow(/3 faces; choose 0 to 2/);
    expect(existsSync(`${OUT}/never.png`)).toBe(false);
    expect((await run([`${F}/astronaut.png`])).code).toBe(2);
  });
});
