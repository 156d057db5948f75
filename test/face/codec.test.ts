/** Decoding untrusted bytes: formats, caps, bombs, damage, EXIF orientation. */
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  decodeImage,
  encodeJpeg,
  encodePng,
  encodeWebp,
  extractRgb,
  flipRgb,
  resizeRgb,
  rotateRgb,
  sniffFormat,
} from '../../core/image/codec.ts';
import { fixtureBytes, fixtureRgb, meanAbsDiff } from './helpers.ts';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? `uncoded: ${(e as Error).message}`;
  }
}

/** A PNG whose header claims width x height, with a tiny real body (a decompression bomb). */
async function pngClaiming(width: number, height: number): Promise<Uint8Array> {
  const small = await encodePng({ data: new Uint8Array(8 * 8 * 3).fill(200), width: 8, height: 8 });
  const out = Uint8Array.from(small);
  const view = new DataView(out.buffer);
  // IHDR data starts at byte 16 (8 signature + 4 length + 4 type).
  view.setUint32(16, width);
  view.setUint32(20, height);
  view.setUint32(29, crc32(out.subarray(12, 29)) >>> 0);
  return out;
}

/** Two 1x1 frames: a hand-written GIF89a animation. */
function twoFrameGif(): Uint8Array {
  const header = [0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0, 1, 0, 0x80, 0, 0, 0xff, 0xff, 0xff, 0, 0, 0];
  const frame = [0x21, 0xf9, 4, 0, 10, 0, 0, 0, 0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 1, 0];
  return Uint8Array.from([...header, ...frame, ...frame, 0x3b]);
}

describe('decodeImage', () => {
  it('decodes JPEG, PNG and WebP to RGB of the right size', async () => {
    const png = await decodeImage(fixtureBytes('astronaut.png'));
    expect([png.width, png.height, png.data.length, png.format]).toEqual([512, 512, 512 * 512 * 3, 'png']);
    const jpg = await decodeImage(fixtureBytes('messi5.jpg'));
    expect([jpg.width, jpg.height, jpg.format]).toEqual([548, 342, 'jpeg']);
    const webp = await decodeImage(await encodeWebp(png, 95));
    expect(webp.format).toBe('webp');
    expect(meanAbsDiff(webp, png)).toBeLessThan(6);
  });

  it('gives each kind of bad input its own code without crashing', async () => {
    const jpeg = fixtureBytes('messi5.jpg');
    expect(await codeOf(decodeImage(new Uint8Array(0)))).toBe('empty_file');
    expect(await codeOf(decodeImage(new TextEncoder().encode('hello, this is not a photo')))).toBe(
      'not_an_image',
    );
    expect(await codeOf(decodeImage(jpeg.subarray(0, Math.floor(jpeg.length * 0.6))))).toBe('corrupt_image');
    const garbled = Uint8Array.from(jpeg);
    for (let i = 600; i < garbled.length - 2; i += 7) garbled[i] = (garbled[i]! * 31 + 17) & 0xff;
    expect(await codeOf(decodeImage(garbled))).toBe('corrupt_image');
    expect(await codeOf(decodeImage(await pngClaiming(100_000, 100_000)))).toBe('image_too_many_pixels');
    expect(await codeOf(decodeImage(twoFrameGif()))).toBe('animated_image');
    expect(await codeOf(decodeImage(jpeg, { maxBytes: 1024 }))).toBe('image_too_large');
    const tiff = Uint8Array.from([0x49, 0x49, 0x2a, 0, 8, 0, 0, 0, 0, 0]);
    expect(await codeOf(decodeImage(tiff))).toBe('unsupported_format');
    // An iPhone-style HEIC header: refused clearly unless this build decodes HEVC.
    const heic = Uint8Array.from([
      0,
      0,
      0,
      24,
      ...new TextEncoder().encode('ftypheic'),
      0,
      0,
      0,
      0,
      ...new TextEncoder().encode('mif1heic'),
    ]);
    expect(['unsupported_format', 'corrupt_image']).toContain(await codeOf(decodeImage(heic)));
  });

  it('rejects a bomb from its header, before decoding pixels', async () => {
    const bomb = await pngClaiming(60_000, 60_000);
    const t0 = performance.now();
    expect(await codeOf(decodeImage(bomb))).toBe('image_too_many_pixels');
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('reads the first frame of an animation when asked to', async () => {
    const img = await decodeImage(twoFrameGif(), { allowAnimated: true });
    expect([img.width, img.height, img.pages]).toEqual([1, 1, 2]);
  });

  it('applies every EXIF orientation (1-8) and strips it', async () => {
    const upright = extractRgb(await fixtureRgb('astronaut.png'), 0, 0, 512, 384);
    const hflip = flipRgb;
    const stored: Record<number, (i: typeof upright) => typeof upright> = {
      1: (i) => i,
      2: (i) => hflip(i),
      3: (i) => rotateRgb(i, 180),
      4: (i) => rotateRgb(hflip(i), 180),
      5: (i) => hflip(rotateRgb(i, 90)),
      6: (i) => rotateRgb(i, 270),
      7: (i) => rotateRgb(hflip(i), 90),
      8: (i) => rotateRgb(i, 90),
    };
    for (let o = 1; o <= 8; o++) {
      const bytes = await encodeJpeg(stored[o]!(upright), { quality: 95, exifOrientation: o });
      const d = await decodeImage(bytes);
      expect(d.exifOrientation, `orientation ${o}`).toBe(o);
      expect(meanAbsDiff(d, upright), `orientation ${o}`).toBeLessThan(4);
      // Re-encoded output carries no orientation any more.
      const again = await decodeImage(await encodeJpeg(d));
      expect(again.exifOrientation).toBe(1);
    }
  });

  it('resizes, crops, flips and rotates exactly', async () => {
    const img = await fixtureRgb('messi5.jpg');
    const half = await resizeRgb(img, 274, 171);
    expect([half.width, half.height]).toEqual([274, 171]);
    expect(meanAbsDiff(rotateRgb(rotateRgb(img, 90), 270), img)).toBe(0);
    expect(meanAbsDiff(flipRgb(flipRgb(img)), img)).toBe(0);
    const crop = extractRgb(img, 10, 20, 30, 40);
    expect(Array.from(crop.data.subarray(0, 3))).toEqual(
      Array.from(img.data.subarray((20 * 548 + 10) * 3, (20 * 548 + 10) * 3 + 3)),
    );
    expect(sniffFormat(await encodePng(crop))).toBe('png');
  });
});
