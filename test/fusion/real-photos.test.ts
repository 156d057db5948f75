/**
 * Fusion, template mode and ranking on real photos with the real analysis models. Outputs are
 * saved under test/.artifacts/fusion/ (side by side: template face, fused, source) so a person
 * can look for seams; docs/fusion.md records what was seen.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, InputError, NotAvailableError } from '../../base/errors.ts';
import { config } from '../../core/config.ts';
import { cosine, type Face, FaceAnalyzer, type ImageAnalysis } from '../../core/face/index.ts';
import { facesLeftToRight, fusionInput, pickFace, uprightImage } from '../../core/fusion/faces.ts';
import { LandmarkFuser } from '../../core/fusion/fuser.ts';
import type { RgbImage } from '../../core/fusion/raster.ts';
import { decodeImage, encodePng, extractRgb, resizeRgb, rotateRgb } from '../../core/image/codec.ts';
import { likenessAt } from '../../core/rank/likeness.ts';
import { postProcess } from '../../core/rank/postprocess.ts';
import { templatePortrait } from '../../core/template/template.ts';
import { ModelStore } from '../../models/store.ts';

const FACES = 'test/fixtures/faces';
const OUT = 'test/.artifacts/fusion';

let analyzer: FaceAnalyzer;
const photos: Record<string, { image: RgbImage; analysis: ImageAnalysis }> = {};

beforeAll(async () => {
  analyzer = await FaceAnalyzer.load(new ModelStore(config().modelsDir));
  for (const f of ['astronaut.png', 'sample2.jpg', 'sample4.jpg']) {
    const decoded = await decodeImage(readFileSync(`${FACES}/${f}`));
    const analysis = await analyzer.analyzeRgb(decoded, { embedding: true });
    photos[f] = { image: uprightImage(decoded, analysis), analysis };
  }
  mkdirSync(OUT, { recursive: true });
});

afterAll(async () => {
  await analyzer?.dispose();
});

function face(file: string, index: number): Face {
  return pickFace(photos[file].analysis, index, file);
}

/** Template face | fused | source face, each 256 px, for looking at seams. */
async function sideBySide(
  target: RgbImage,
  fused: RgbImage,
  box: Face['box'],
  source: RgbImage,
  sbox: Face['box'],
) {
  const crop = (img: RgbImage, b: Face['box']) => {
    const side = Math.max(b[2] - b[0], b[3] - b[1]) * 1.6;
    const cx = (b[0] + b[2]) / 2;
    const cy = (b[1] + b[3]) / 2;
    return resizeRgb(extractRgb(img, cx - side / 2, cy - side / 2, side, side), 256, 256);
  };
  const parts = [await crop(target, box), await crop(fused, box), await crop(source, sbox)];
  const strip = { width: 768, height: 256, data: new Uint8Array(768 * 256 * 3) };
  parts.forEach((p, k) => {
    for (let y = 0; y < 256; y++)
      strip.data.set(p.data.subarray(y * 768, (y + 1) * 768), (y * 768 + k * 256) * 3);
  });
  return encodePng(strip);
}

// Source face (file, left-to-right index) into template face (file, index). Unoccluded faces
// within about 30° of frontal: the situation fusion is used in (a generated portrait, a
// template). docs/fusion.md lists the figures for every pair tried, including weaker ones.
const PAIRS: [string, number, string, number][] = [
  ['astronaut.png', 0, 'sample4.jpg', 3],
  ['sample2.jpg', 2, 'astronaut.png', 0],
  ['sample4.jpg', 1, 'sample2.jpg', 2],
];

describe('face fusion on real photos', () => {
  for (const [sf, si, tf, ti] of PAIRS) {
    it(`${sf}#${si} into ${tf}#${ti}: the fused face looks like the source, not the template`, async () => {
      const src = face(sf, si);
      const tgt = face(tf, ti);
      const result = await templatePortrait(
        { analyzer, fuser: new LandmarkFuser() },
        fusionInput(photos[sf].image, src),
        photos[tf].image,
        { faceIndex: ti },
      );
      expect(result.faceCount).toBe(photos[tf].analysis.faces.length);
      const name = `${sf.split('.')[0]}-${si}-into-${tf.split('.')[0]}-${ti}`;
      writeFileSync(`${OUT}/${name}.png`, await encodePng(result.image));
      writeFileSync(
        `${OUT}/${name}-side.png`,
        await sideBySide(photos[tf].image, result.image, tgt.box, photos[sf].image, src.box),
      );
      const like = await likenessAt(analyzer, result.image, tgt.box, src.embedding!);
      expect(like.face, 'a face is still found where the template face was').toBeDefined();
      const toSource = like.score!;
      const toTemplate = cosine(like.face!.embedding!, tgt.embedding!);
      expect(toSource).toBeGreaterThanOrEqual(0.6);
      expect(toSource).toBeGreaterThan(toTemplate);
      // Everything far from the chosen face is untouched.
      const [x1, y1, x2, y2] = tgt.box;
      const w = result.image.width;
      let changedFar = 0;
      for (let y = 0; y < result.image.height; y += 7) {
        for (let x = 0; x < w; x += 7) {
          const far = x < x1 - (x2 - x1) || x > x2 + (x2 - x1) || y < y1 - (y2 - y1) || y > y2 + (y2 - y1);
          if (far && result.image.data[(y * w + x) * 3] !== photos[tf].image.data[(y * w + x) * 3])
            changedFar++;
        }
      }
      expect(changedFar).toBe(0);
    });
  }

  it('template mode: a face index past the last face is refused with the count', async () => {
    const src = face('astronaut.png', 0);
    const err = await templatePortrait(
      { analyzer },
      fusionInput(photos['astronaut.png'].image, src),
      photos['sample2.jpg'].image,
      {
        faceIndex: 3,
      },
    ).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.code).toBe('no_such_face');
    expect(err.message).toMatch(/3 faces; choose 0 to 2, counted from the left/);
  });

  it('template mode: inpainting without generation models says so instead of faking it', async () => {
    const src = face('astronaut.png', 0);
    const err = await templatePortrait(
      { analyzer },
      fusionInput(photos['astronaut.png'].image, src),
      photos['sample2.jpg'].image,
      {
        mode: 'inpaint',
      },
    ).catch((e) => e);
    expect(err).toBeInstanceOf(NotAvailableError);
    expect(err.message).toMatch(/use fusion mode/);
  });

  it('template mode on a sideways template: analysis turns it upright and the fusion happens there', async () => {
    const src = face('sample4.jpg', 1);
    const sideways = rotateRgb(photos['sample2.jpg'].image, 270);
    const result = await templatePortrait(
      { analyzer },
      fusionInput(photos['sample4.jpg'].image, src),
      sideways,
      {
        faceIndex: 2,
      },
    );
    expect([result.image.width, result.image.height]).toEqual([1920, 1367]);
    const like = await likenessAt(analyzer, result.image, result.box, src.embedding!);
    expect(like.score).toBeGreaterThanOrEqual(0.6);
  });

  it('a cancelled fusion stops with CancelledError', async () => {
    const ac = new AbortController();
    ac.abort();
    const src = face('astronaut.png', 0);
    const err = await new LandmarkFuser()
      .fuse(
        fusionInput(photos['astronaut.png'].image, src),
        fusionInput(photos['sample4.jpg'].image, face('sample4.jpg', 3)),
        {
          signal: ac.signal,
        },
      )
      .catch((e) => e);
    expect(err).toBeInstanceOf(CancelledError);
  });

  it('group templates: default is the largest face; `largest` counts only the N largest, left to right', async () => {
    const a = photos['sample4.jpg'].analysis;
    const bySize = a.faces; // largest first
    const two = [bySize[0], bySize[1]].sort((p, q) => p.box[0] - q.box[0]);
    expect(pickFace(a, 0, 'template', 2)).toBe(two[0]);
    expect(pickFace(a, 1, 'template', 2)).toBe(two[1]);
    expect(() => pickFace(a, 2, 'template', 2)).toThrow(/2 faces; choose 0 to 1/);
    const src = face('astronaut.png', 0);
    const r = await templatePortrait(
      { analyzer },
      fusionInput(photos['astronaut.png'].image, src),
      photos['sample4.jpg'].image,
    );
    expect(r.box).toEqual(bySize[0].box);
    expect(r.faceIndex).toBe(facesLeftToRight(bySize).indexOf(bySize[0]));
  });

  it('copes with a face cut by the image edge and with a tiny face', async () => {
    const src = face('sample2.jpg', 2);
    const user = fusionInput(photos['sample2.jpg'].image, src);
    const astro = photos['astronaut.png'].image;
    // Cut through the middle of the astronaut's face: the left half of it is outside the image.
    const cut = extractRgb(astro, 222, 0, 290, 512);
    const a = await analyzer.analyzeRgb(cut, { orientation: false });
    expect(a.faces).toHaveLength(1);
    expect(Math.min(...a.faces[0].landmarks.map((p) => p[0]))).toBeLessThan(0);
    const half = await new LandmarkFuser().fuse(user, fusionInput(cut, a.faces[0]));
    expect([half.width, half.height]).toEqual([290, 512]);
    let edge = 0;
    for (let y = 80; y < 160; y++)
      if (half.data[y * 290 * 3 + 8 * 3] !== cut.data[y * 290 * 3 + 8 * 3]) edge++;
    expect(edge).toBeGreaterThan(20); // painted out to the image edge
    const messi = await decodeImage(readFileSync(`${FACES}/messi5.jpg`));
    const m = await analyzer.analyzeRgb(messi, { orientation: false });
    expect(m.faces[0].size).toBeLessThan(60);
    const out = await new LandmarkFuser().fuse(user, fusionInput(messi, m.faces[0]));
    let changed = 0;
    for (let i = 0; i < out.data.length; i++) if (out.data[i] !== messi.data[i]) changed++;
    expect(changed).toBeGreaterThan(100);
    expect(changed).toBeLessThan(out.data.length * 0.05);
  });

  it('template faces are counted left to right', () => {
    const xs = [0, 1, 2, 3].map((i) => face('sample4.jpg', i).box[0]);
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
  });
});

describe('post-processing: fuse, filter, rank on real photos', () => {
  it('fuses the template face into candidates, drops bad ones with reasons, ranks by likeness', async () => {
    const astro = photos['astronaut.png'];
    const src = face('astronaut.png', 0);
    // Candidates as a generator might return them (512-ish portraits), cut from the fixtures.
    const cut = (file: string, i: number, scale: number) => {
      const b = face(file, i).box;
      const side = Math.max(b[2] - b[0], b[3] - b[1]) * scale;
      return extractRgb(
        photos[file].image,
        (b[0] + b[2]) / 2 - side / 2,
        (b[1] + b[3]) / 2 - side / 2,
        side,
        side,
      );
    };
    const candidates = [
      await resizeRgb(cut('sample4.jpg', 3, 2.2), 512, 512), // one face ~230 px: kept
      photos['sample2.jpg'].image, // three faces: rejected
      await resizeRgb(cut('sample2.jpg', 2, 1.6), 400, 400), // one face ~250 px: kept
      await resizeRgb(cut('sample4.jpg', 1, 1.6), 128, 128), // one face ~80 px: too small
    ];
    const r = await postProcess({ analyzer }, fusionInput(astro.image, src), src.embedding!, candidates, {
      topN: 6,
    });
    expect(r.rejected.map((x) => [x.index, x.reason])).toEqual([
      [1, 'several_faces'],
      [3, 'face_too_small'],
    ]);
    expect(r.results.map((x) => x.index).sort()).toEqual([0, 2]);
    expect(r.results[0].score).toBeGreaterThanOrEqual(r.results[1].score);
    // Without fusion the same candidates are other people: fusion must raise every likeness a lot.
    const plain = await postProcess({ analyzer }, fusionInput(astro.image, src), src.embedding!, candidates, {
      fuse: false,
    });
    expect(plain.results.map((x) => x.index).sort()).toEqual([0, 2]);
    for (const k of r.results) {
      const before = plain.results.find((p) => p.index === k.index)!.score;
      expect(before).toBeLessThan(0.45);
      expect(k.score).toBeGreaterThan(before + 0.3);
    }
  });
});
