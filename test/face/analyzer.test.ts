/** FaceAnalyzer on the real models and real photos (test/fixtures/faces). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alignFace, REFERENCE_5 } from '../../core/face/align.ts';
import type { FaceAnalyzer } from '../../core/face/analyzer.ts';
import { cosine } from '../../core/face/embedding.ts';
import { fivePoints } from '../../core/face/landmarks.ts';
import type { Face, ImageAnalysis } from '../../core/face/types.ts';
import {
  decodeImage,
  encodeJpeg,
  extractRgb,
  flipRgb,
  type RgbImage,
  resizeRgb,
  rotateRgb,
} from '../../core/image/codec.ts';
import { OnnxSession } from '../../models/onnx.ts';
import { blur, brighten, fixtureBytes, fixtureRgb, loadAnalyzer } from './helpers.ts';

let analyzer: FaceAnalyzer;
beforeAll(async () => {
  analyzer = await loadAnalyzer();
});
afterAll(async () => {
  await analyzer?.dispose();
});

/** Hand-checked face centres (x, y) in the fixture photos. */
const PEOPLE: Record<string, [number, number][]> = {
  'sample2.jpg': [
    [447, 273],
    [1542, 273],
    [977, 344],
  ],
  'sample4.jpg': [
    [1079, 303],
    [1343, 268],
    [755, 191],
    [344, 318],
  ],
};

function centre(f: Face): [number, number] {
  return [(f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2];
}

function largest(a: ImageAnalysis): Face {
  const f = a.faces[0];
  if (!f) throw new Error('no face found');
  return f;
}

/** The face in `b` most similar to `face` (the same person, if the embedding works). */
function bestMatch(face: Face, b: ImageAnalysis): number {
  return Math.max(...b.faces.map((f) => cosine(f.embedding!, face.embedding!)));
}

describe('detection', () => {
  it.each(Object.entries(PEOPLE))('finds every face in %s and nothing else', async (file, people) => {
    const a = await analyzer.analyze(fixtureBytes(file));
    expect(a.rotation).toBe(0);
    expect(a.faces).toHaveLength(people.length);
    const matched = new Set<number>();
    for (const f of a.faces) {
      const [cx, cy] = centre(f);
      const who = people.findIndex(([x, y]) => Math.hypot(x - cx, y - cy) < 0.25 * f.size);
      expect(who, `face at ${Math.round(cx)},${Math.round(cy)}`).toBeGreaterThanOrEqual(0);
      matched.add(who);
      expect(f.landmarks).toHaveLength(68);
      // Every landmark lies in or near its own box.
      for (const [x, y] of f.landmarks) {
        expect(x).toBeGreaterThan(f.box[0] - 0.3 * f.size);
        expect(x).toBeLessThan(f.box[2] + 0.3 * f.size);
        expect(y).toBeGreaterThan(f.box[1] - 0.3 * f.size);
        expect(y).toBeLessThan(f.box[3] + 0.3 * f.size);
      }
    }
    expect(matched.size).toBe(people.length);
  });

  it('finds 60 px faces in a 4000x3000 group photo', async () => {
    // Paste the four sample4 faces, shrunk to about 60 px, into a large flat canvas.
    const src = await fixtureRgb('sample4.jpg');
    const small = await resizeRgb(src, 518, 391); // faces of 240-270 px become 60-70 px
    const canvas: RgbImage = { data: new Uint8Array(4000 * 3000 * 3).fill(90), width: 4000, height: 3000 };
    const spots: [number, number][] = [
      [300, 400],
      [3000, 2200],
    ];
    for (const [ox, oy] of spots)
      for (let y = 0; y < small.height; y++)
        canvas.data.set(
          small.data.subarray(y * small.width * 3, (y + 1) * small.width * 3),
          ((oy + y) * 4000 + ox) * 3,
        );
    const a = await analyzer.analyzeRgb(canvas);
    expect(a.faces.length).toBe(8);
    for (const f of a.faces) {
      expect(f.size).toBeGreaterThan(40);
      expect(f.size).toBeLessThan(90);
    }
  });

  it('finds a face that fills the whole photo', async () => {
    const img = await fixtureRgb('astronaut.png');
    const close = extractRgb(img, 170, 50, 110, 130);
    const a = await analyzer.analyzeRgb(await resizeRgb(close, 880, 1040));
    expect(a.faces).toHaveLength(1);
    expect(largest(a).size).toBeGreaterThan(600);
  });

  it('returns no faces for photos without people, noise or a flat colour', async () => {
    const img = await fixtureRgb('astronaut.png');
    const flag = extractRgb(img, 0, 0, 150, 512); // the flag and background, left of the face
    expect((await analyzer.analyzeRgb(flag)).faces).toHaveLength(0);
    const body = await resizeRgb(extractRgb(img, 0, 250, 512, 262), 1600, 820); // suit, no face
    expect((await analyzer.analyzeRgb(body)).faces).toHaveLength(0);
    let seed = 1;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const noise = { data: new Uint8Array(1600 * 1200 * 3).map(() => rnd() * 255), width: 1600, height: 1200 };
    expect((await analyzer.analyzeRgb(noise)).faces).toHaveLength(0);
    const flat = { data: new Uint8Array(800 * 600 * 3).fill(128), width: 800, height: 600 };
    expect((await analyzer.analyzeRgb(flat)).faces).toHaveLength(0);
  });
});

describe('attributes', () => {
  it('describes the astronaut portrait plausibly', async () => {
    const f = largest(await analyzer.analyze(fixtureBytes('astronaut.png')));
    expect(Math.abs(f.pose.yaw)).toBeLessThan(15);
    expect(Math.abs(f.pose.roll)).toBeLessThan(15);
    expect(f.eyesOpen).toBe(true);
    expect(f.age).toBeGreaterThan(25);
    expect(f.age).toBeLessThan(55);
    expect(f.gender).toBe('female');
    expect(f.sharpness).toBeGreaterThan(100);
  });

  it('tells profile from frontal and eyes closed from open', async () => {
    const a = await analyzer.analyze(fixtureBytes('sample2.jpg'));
    const profile = a.faces.find((f) => centre(f)[0] < 600)!;
    expect(Math.abs(profile.pose.yaw)).toBeGreaterThan(45);
    // The middle woman looks down with lowered lids.
    const down = a.faces.find((f) => Math.abs(centre(f)[0] - 977) < 100)!;
    expect(down.eyesOpen).toBe(false);
    expect(down.pose.pitch).toBeLessThan(-20);
    const s4 = await analyzer.analyze(fixtureBytes('sample4.jpg'));
    const open = s4.faces.find((f) => Math.abs(centre(f)[0] - 755) < 100)!;
    expect(open.eyesOpen).toBe(true);
  });

  it('flipping the photo mirrors yaw and roll', async () => {
    const img = await fixtureRgb('sample4.jpg');
    const a = await analyzer.analyzeRgb(img);
    const b = await analyzer.analyzeRgb(flipRgb(img));
    const fa = a.faces.find((f) => Math.abs(centre(f)[0] - 344) < 100)!;
    const fb = b.faces.find((f) => Math.abs(centre(f)[0] - (1920 - 344)) < 100)!;
    expect(Math.sign(fa.pose.yaw)).toBe(-Math.sign(fb.pose.yaw));
    expect(Math.abs(fa.pose.yaw + fb.pose.yaw)).toBeLessThan(12);
  });

  it('scores a blurred face far below the sharp one', async () => {
    const img = await fixtureRgb('astronaut.png');
    const sharp = largest(await analyzer.analyzeRgb(img)).sharpness;
    const soft = largest(await analyzer.analyzeRgb(blur(img, 2))).sharpness;
    expect(soft).toBeLessThan(sharp / 10);
  });

  it('returns L2-normalised 512-d embeddings only when asked', async () => {
    const bytes = fixtureBytes('messi5.jpg');
    expect(largest(await analyzer.analyze(bytes)).embedding).toBeUndefined();
    const e = largest(await analyzer.analyze(bytes, { embedding: true })).embedding!;
    expect(e).toHaveLength(512);
    expect(Math.hypot(...e)).toBeCloseTo(1, 4);
  });

  it('alignFace puts the eyes on the reference points, also for a photo it had to turn', async () => {
    const img = await fixtureRgb('astronaut.png');
    for (const deg of [0, 90] as const) {
      const turned = rotateRgb(img, deg);
      const a = await analyzer.analyzeRgb(turned);
      const upright = rotateRgb(turned, a.rotation);
      const crop = alignFace(upright, largest(a).landmarks, 224);
      expect([crop.width, crop.height]).toEqual([224, 224]);
      const again = largest(
        await analyzer.analyzeRgb(await resizeRgb(crop, 448, 448), { orientation: false }),
      );
      const [le, re] = fivePoints(again.landmarks);
      expect(Math.hypot(le[0] - REFERENCE_5[0]![0] * 4, le[1] - REFERENCE_5[0]![1] * 4)).toBeLessThan(16);
      expect(Math.hypot(re[0] - REFERENCE_5[1]![0] * 4, re[1] - REFERENCE_5[1]![1] * 4)).toBeLessThan(16);
    }
  });

  it('stops when the signal is aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(analyzer.analyze(fixtureBytes('messi5.jpg'), { signal: ac.signal })).rejects.toMatchObject({
      code: 'cancelled',
    });
  });
});

describe('identity', () => {
  it('keeps the same face at cosine >= 0.8 under flip, 50% resize, JPEG q30, brightness and crop', async () => {
    // Frontal-enough, large-enough faces: the astronaut and the sample4 group.
    for (const file of ['astronaut.png', 'sample4.jpg']) {
      const img = await fixtureRgb(file);
      const base = await analyzer.analyzeRgb(img, { embedding: true });
      const variants: [string, RgbImage][] = [
        ['flip', flipRgb(img)],
        ['half', await resizeRgb(img, Math.round(img.width / 2), Math.round(img.height / 2))],
        ['jpeg q30', await decodeImage(await encodeJpeg(img, { quality: 30 }))],
        ['brighter', brighten(img, 1.3)],
        ['darker', brighten(img, 0.7)],
      ];
      const analyses = await Promise.all(
        variants.map(async ([n, v]) => [n, await analyzer.analyzeRgb(v, { embedding: true })] as const),
      );
      for (const face of base.faces) {
        for (const [name, a] of analyses)
          expect(bestMatch(face, a), `${file} ${name}`).toBeGreaterThanOrEqual(0.8);
        const [x1, y1, x2, y2] = face.box;
        const crop = extractRgb(img, x1 - (x2 - x1), y1 - (y2 - y1), 3 * (x2 - x1), 3 * (y2 - y1));
        expect(
          bestMatch(face, await analyzer.analyzeRgb(crop, { embedding: true })),
          `${file} crop`,
        ).toBeGreaterThanOrEqual(0.8);
      }
    }
  });

  it('keeps different people apart: mean cosine below 0.2, every pair below the threshold', async () => {
    const faces: Face[] = [];
    for (const file of ['astronaut.png', 'messi5.jpg', 'sample2.jpg', 'sample4.jpg'])
      faces.push(...(await analyzer.analyze(fixtureBytes(file), { embedding: true })).faces);
    expect(faces).toHaveLength(9);
    const sims: number[] = [];
    for (let i = 0; i < faces.length; i++)
      for (let j = i + 1; j < faces.length; j++)
        sims.push(cosine(faces[i]!.embedding!, faces[j]!.embedding!));
    const mean = sims.reduce((a, b) => a + b, 0) / sims.length;
    expect(mean).toBeLessThan(0.2);
    expect(Math.max(...sims)).toBeLessThan(0.45);
  });
});

describe('orientation', () => {
  it.each(['astronaut.png', 'sample2.jpg', 'sample4.jpg', 'messi5.jpg'])(
    'turns %s upright from 90, 180 and 270 degrees of pixel rotation, same identity',
    async (file) => {
      const img = await fixtureRgb(file);
      const base = await analyzer.analyzeRgb(img, { embedding: true });
      for (const deg of [90, 180, 270] as const) {
        const a = await analyzer.analyzeRgb(rotateRgb(img, deg), { embedding: true });
        expect(a.rotation, `${file} rotated ${deg}`).toBe((360 - deg) % 360);
        expect([a.width, a.height]).toEqual([img.width, img.height]);
        expect(a.faces).toHaveLength(base.faces.length);
        // Same identities (profile faces, |yaw| > 45, are too unstable to embed reliably).
        for (const f of base.faces.filter((x) => Math.abs(x.pose.yaw) < 45))
          expect(bestMatch(f, a), `${file} rotated ${deg}`).toBeGreaterThan(0.9);
        // Boxes come back in the upright frame.
        const [bx, by] = centre(largest(base));
        const [ax, ay] = centre(largest(a));
        expect(Math.hypot(ax - bx, ay - by)).toBeLessThan(0.1 * largest(base).size);
      }
    },
  );

  it('turns a close-up (face filling the frame) upright from every rotation', async () => {
    // Close-ups are where the detector alone fires almost as strongly on a turned face.
    const img = await fixtureRgb('astronaut.png');
    const close = extractRgb(img, 100, 0, 260, 300);
    const base = largest(await analyzer.analyzeRgb(close, { embedding: true }));
    for (const deg of [90, 180, 270] as const) {
      const a = await analyzer.analyzeRgb(rotateRgb(close, deg), { embedding: true });
      expect(a.rotation, `rotated ${deg}`).toBe((360 - deg) % 360);
      expect(cosine(largest(a).embedding!, base.embedding!)).toBeGreaterThan(0.9);
    }
  });

  it('searches the other rotations only when the upright pass has no firmly locked face', async () => {
    const img = await fixtureRgb('astronaut.png');
    const orig = OnnxSession.prototype.run;
    let detectorRuns = 0;
    OnnxSession.prototype.run = function (this: OnnxSession, ...args: Parameters<typeof orig>) {
      if (this.name === 'face-detect') detectorRuns++;
      return orig.apply(this, args);
    };
    try {
      // 512x512 with faces of 60 px or more: the whole-image pass is the only detection pass.
      await analyzer.analyzeRgb(img);
      expect(detectorRuns).toBe(1);
      detectorRuns = 0;
      const turned = await analyzer.analyzeRgb(rotateRgb(img, 90));
      expect(turned.rotation).toBe(270);
      expect(detectorRuns).toBeGreaterThanOrEqual(4);
    } finally {
      OnnxSession.prototype.run = orig;
    }
  });

  it('reads each EXIF orientation 1-8 upright with the same identity', async () => {
    const img = await fixtureRgb('astronaut.png');
    const base = largest(await analyzer.analyzeRgb(img, { embedding: true }));
    const stored: Record<number, RgbImage> = {
      1: img,
      2: flipRgb(img),
      3: rotateRgb(img, 180),
      4: rotateRgb(flipRgb(img), 180),
      5: flipRgb(rotateRgb(img, 90)),
      6: rotateRgb(img, 270),
      7: rotateRgb(flipRgb(img), 90),
      8: rotateRgb(img, 90),
    };
    for (let o = 1; o <= 8; o++) {
      const a = await analyzer.analyze(await encodeJpeg(stored[o]!, { quality: 92, exifOrientation: o }), {
        embedding: true,
      });
      expect(a.rotation, `orientation ${o}`).toBe(0);
      const f = largest(a);
      expect(cosine(f.embedding!, base.embedding!), `orientation ${o}`).toBeGreaterThan(0.9);
      expect(Math.hypot(centre(f)[0] - centre(base)[0], centre(f)[1] - centre(base)[1])).toBeLessThan(10);
    }
  });
});

describe('buffer reuse', () => {
  it('gives the same result whatever the analyzer saw before, and for concurrent calls', async () => {
    const small = await fixtureRgb('astronaut.png');
    const large = await fixtureRgb('sample4.jpg');
    // Fresh buffers (analyzeDetailed never reuses them) as the reference.
    const refSmall = (await analyzer.analyzeDetailed(small, { embedding: true })).analysis;
    const refLarge = (await analyzer.analyzeDetailed(large, { embedding: true })).analysis;
    // The reused buffers hold larger-image levels when the small one is analysed, and the reverse.
    expect(await analyzer.analyzeRgb(large, { embedding: true })).toEqual(refLarge);
    expect(await analyzer.analyzeRgb(small, { embedding: true })).toEqual(refSmall);
    expect(await analyzer.analyzeRgb(large, { embedding: true })).toEqual(refLarge);
    // Two calls in flight on one analyzer: only one may hold the reused buffers.
    const [a, b] = await Promise.all([
      analyzer.analyzeRgb(small, { embedding: true }),
      analyzer.analyzeRgb(large, { embedding: true }),
    ]);
    expect(a).toEqual(refSmall);
    expect(b).toEqual(refLarge);
  });
});
