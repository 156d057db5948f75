import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../bot/cli/args.ts';
import { command } from '../../bot/cli/fuse.ts';
import { command as rank } from '../../bot/cli/rank.ts';
import { config } from '../../core/config.ts';
import { FaceAnalyzer } from '../../core/face/index.ts';
import { decodeImage, encodePng, extractRgb, resizeRgb } from '../../core/image/codec.ts';
import { ModelStore } from '../../models/store.ts';

const OUT = 'test/.artifacts/fusion';
const F = 'test/fixtures/faces';

async function run(argv: string[], cmd = command): Promise<{ code: number; out: string }> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => {
    out += s;
    return true;
  }) as typeof process.stdout.write;
  try {
    return { code: await cmd.run(argv), out };
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
    // A wrong command line is a UsageError, which bot/cli/main.ts turns into exit code 2.
    await expect(run([`${F}/astronaut.png`])).rejects.toThrow(UsageError);
  });
});

describe('facechain rank', () => {
  it('fuses, filters and ranks files, printing scores and reasons', async () => {
    mkdirSync(`${OUT}/rank`, { recursive: true });
    // One candidate with a single face of the right size, cut from the group photo.
    const group = await decodeImage(readFileSync(`${F}/sample4.jpg`));
    const analyzer = await FaceAnalyzer.load(new ModelStore(config().modelsDir));
    const faces = (await analyzer.analyzeRgb(group)).faces;
    await analyzer.dispose();
    const b = faces.sort((p, q) => p.box[0] - q.box[0])[3].box;
    const side = Math.max(b[2] - b[0], b[3] - b[1]) * 2.2;
    const crop = await resizeRgb(
      extractRgb(group, (b[0] + b[2]) / 2 - side / 2, (b[1] + b[3]) / 2 - side / 2, side, side),
      512,
      512,
    );
    const candidate = `${OUT}/rank/candidate.png`;
    writeFileSync(candidate, await encodePng(crop));
    const r = await run(
      [`${F}/astronaut.png`, candidate, `${F}/sample2.jpg`, `${F}/messi5.jpg`, '--out-dir', `${OUT}/rank`],
      rank,
    );
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out);
    expect(res.kept).toHaveLength(1);
    expect(res.kept[0].file).toBe(candidate);
    expect(res.kept[0].score).toBeGreaterThanOrEqual(0.6);
    expect(existsSync(res.kept[0].out)).toBe(true);
    expect(res.rejected.map((x: { reason: string }) => x.reason)).toEqual([
      'several_faces',
      'face_too_small',
    ]);
    await expect(run([`${F}/astronaut.png`, candidate, '--top', '0'], rank)).rejects.toThrow(/--top must be/);
  });
});
