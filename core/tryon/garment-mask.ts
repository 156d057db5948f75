/**
 * The garment's mask from an ordinary photo, for try-on:
 * - a cut-out (PNG/WebP with transparency): its alpha;
 * - a product photo (no person): the garment separated from a plain background by colour — the
 *   background is what connects to the photo's border in the border's colour;
 * - a photo of someone wearing it: the person's mask minus the head (face, hair, neck), the
 *   hands, the feet, and bare skin along the arms, legs and neckline (skin colour taken from the
 *   face), using body keypoints and, when given, face landmarks.
 * Works on recompressed chat JPEGs: colours are compared with tolerances, and small specks and
 * holes are cleaned up.
 */
import { InputError, throwIfAborted } from '../../base/errors.ts';
import type { ImageAnalysis } from '../face/types.ts';
import { convexHull, fillPolygon } from '../fusion/mask.ts';
import type { Mask, Point } from '../fusion/raster.ts';
import type { RgbImage } from '../image/codec.ts';
import type { CocoPerson } from '../pose/body-models.ts';
import type { Keypoint } from '../pose/keypoints.ts';
import { coverage, fillHoles, keepLargest, paintCapsule, subtract } from '../pose/mask-ops.ts';
import { findPeople, mainPeople, type PeopleInPhoto, type PersonModels } from '../pose/person-mask.ts';
import { garmentMaskFromAlpha, TRYON_DEFAULTS } from './garment.ts';

export type GarmentSource = 'alpha' | 'product' | 'worn';

export interface GarmentMask {
  /** 1 = garment, 0 = not. Same size as the photo. */
  mask: Mask;
  source: GarmentSource;
  /** Share of the photo the garment covers. */
  coverage: number;
  /** For a worn garment: the people found (the wearer first) and their mask. */
  people?: PeopleInPhoto;
}

/** What face landmarks come from (FaceAnalyzer satisfies it); optional. */
export interface GarmentFaceAnalyzer {
  analyzeRgb(img: RgbImage, opts?: { orientation?: boolean; signal?: AbortSignal }): Promise<ImageAnalysis>;
}

export const GARMENT_RULES = {
  /** Keypoints scoring below this are not used for the masks. */
  minKeypoint: 0.3,
  /** Share of the border pixels that must be near the background colour for a product photo. */
  plainBorder: 0.6,
  /** Largest channel difference to the background colour that still counts as background. */
  backgroundTolerance: 34,
  /** Arm/leg capsule radius, as a share of the shoulder width. */
  limbRadius: 0.24,
  /** Hand/foot reach beyond the wrist/ankle, as a share of the forearm/shin. */
  handReach: 0.5,
  footReach: 0.35,
} as const;

function too(small: number, minCoverage: number): void {
  if (small < minCoverage) {
    throw new InputError(
      'garment_too_small',
      `The garment covers only ${(100 * small).toFixed(1)}% of the photo; send a photo where it fills more of the frame.`,
      { context: { coverage: small } },
    );
  }
}

/**
 * The garment mask of a photo. `alpha` is the file's transparency (decodeAlpha), if any. Errors
 * (InputError): `several_people`, `no_garment`, `garment_too_small`.
 */
export async function garmentMask(
  deps: { body: PersonModels; faces?: GarmentFaceAnalyzer },
  img: RgbImage,
  alpha: Uint8Array | undefined,
  opts: { minCoverage?: number; signal?: AbortSignal } = {},
): Promise<GarmentMask> {
  const minCoverage = opts.minCoverage ?? TRYON_DEFAULTS.minCoverage;
  if (alpha?.some((a) => a < TRYON_DEFAULTS.alphaThreshold)) {
    const mask = garmentMaskFromAlpha(alpha, img.width, img.height, { minCoverage });
    return { mask, source: 'alpha', coverage: coverage(mask) };
  }
  const found = await findPeople(deps.body, img, { signal: opts.signal });
  throwIfAborted(opts.signal);
  const main = mainPeople(found.coco);
  if (main.length > 1) {
    throw new InputError(
      'several_people',
      `The garment photo shows ${main.length} people; send a photo of the garment alone or worn by one person.`,
      { context: { people: main.length } },
    );
  }
  if (main.length === 0) {
    const mask = productMask(img);
    const c = coverage(mask);
    too(c, minCoverage);
    return { mask, source: 'product', coverage: c };
  }
  let face: ImageAnalysis['faces'][number] | undefined;
  if (deps.faces) {
    const a = await deps.faces.analyzeRgb(img, { orientation: false, signal: opts.signal });
    const [bx1, by1, bx2, by2] = main[0].box;
    face = a.faces.find((f) => {
      const cx = (f.box[0] + f.box[2]) / 2;
      const cy = (f.box[1] + f.box[3]) / 2;
      return cx >= bx1 && cx <= bx2 && cy >= by1 && cy <= by2;
    });
  }
  const mask = wornMask(img, found.mask, main[0], face?.landmarks);
  const c = coverage(mask);
  if (c === 0)
    throw new InputError(
      'no_garment',
      'No garment was found on the person in the photo (only skin, hair or hands). Send a photo where the clothes are clearly visible.',
    );
  too(c, minCoverage);
  const wearer = found.coco.indexOf(main[0]);
  const people: PeopleInPhoto = {
    ...found,
    coco: [found.coco[wearer], ...found.coco.filter((_, i) => i !== wearer)],
    people: [found.people[wearer], ...found.people.filter((_, i) => i !== wearer)],
  };
  return { mask, source: 'worn', coverage: c, people };
}

/** Largest channel difference between two RGB colours. */
function diff(d: Uint8Array, i: number, c: readonly number[]): number {
  return Math.max(Math.abs(d[i] - c[0]), Math.abs(d[i + 1] - c[1]), Math.abs(d[i + 2] - c[2]));
}

/**
 * A product photo's garment: flood the background in from the border (pixels near the border's
 * median colour), keep the largest remaining region and fill its holes.
 */
export function productMask(img: RgbImage): Mask {
  const { width: w, height: h, data } = img;
  const border: number[] = [];
  for (let x = 0; x < w; x++) border.push(x, (h - 1) * w + x);
  for (let y = 1; y < h - 1; y++) border.push(y * w, y * w + w - 1);
  const median = (c: number) => {
    const v = border.map((i) => data[i * 3 + c]).sort((a, b) => a - b);
    return v[v.length >> 1];
  };
  const bg = [median(0), median(1), median(2)];
  const tol = GARMENT_RULES.backgroundTolerance;
  const plain = border.filter((i) => diff(data, i * 3, bg) <= tol).length / border.length;
  if (plain < GARMENT_RULES.plainBorder) {
    throw new InputError(
      'no_garment',
      'No person and no plain background were found, so the garment cannot be told from its surroundings. Send the garment on a plain background, as a cut-out PNG, or worn by one person.',
    );
  }
  const isBg = new Uint8Array(w * h);
  const stack: number[] = [];
  for (const i of border) {
    if (!isBg[i] && diff(data, i * 3, bg) <= tol) {
      isBg[i] = 1;
      stack.push(i);
    }
  }
  while (stack.length) {
    const i = stack.pop() as number;
    const x = i % w;
    const y = (i - x) / w;
    const visit = (j: number) => {
      if (!isBg[j] && diff(data, j * 3, bg) <= tol) {
        isBg[j] = 1;
        stack.push(j);
      }
    };
    if (x > 0) visit(i - 1);
    if (x < w - 1) visit(i + 1);
    if (y > 0) visit(i - w);
    if (y < h - 1) visit(i + w);
  }
  const m: Mask = { width: w, height: h, data: new Float32Array(w * h) };
  for (let i = 0; i < w * h; i++) m.data[i] = isBg[i] ? 0 : 1;
  const garment = fillHoles(keepLargest(m));
  if (coverage(garment) === 0 || coverage(garment) > 0.97) {
    throw new InputError(
      'no_garment',
      'No garment stands out from the background of the photo. Send the garment on a plain background, as a cut-out PNG, or worn by one person.',
    );
  }
  return garment;
}

/** YCbCr chroma of a pixel. */
function chroma(d: Uint8Array, i: number): [number, number, number] {
  const r = d[i];
  const g = d[i + 1];
  const b = d[i + 2];
  const y = 0.299 * r + 0.587 * g + 0.114 * b;
  return [y, 128 + 0.564 * (b - y), 128 + 0.713 * (r - y)];
}

interface SkinModel {
  cb: number;
  cr: number;
  tol: number;
}

/** Skin colour from patches of the face (landmarks) or around the nose keypoint. */
function skinModel(img: RgbImage, centres: Point[], radius: number): SkinModel | undefined {
  const cbs: number[] = [];
  const crs: number[] = [];
  const r = Math.max(1, Math.round(radius));
  for (const [cx, cy] of centres) {
    for (let y = Math.round(cy) - r; y <= Math.round(cy) + r; y++) {
      for (let x = Math.round(cx) - r; x <= Math.round(cx) + r; x++) {
        if (x < 0 || y < 0 || x >= img.width || y >= img.height) continue;
        const [, cb, cr] = chroma(img.data, (y * img.width + x) * 3);
        cbs.push(cb);
        crs.push(cr);
      }
    }
  }
  if (cbs.length < 4) return undefined;
  const med = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
  const cb = med(cbs);
  const cr = med(crs);
  const spread = med(cbs.map((v, i) => Math.max(Math.abs(v - cb), Math.abs(crs[i] - cr))));
  return { cb, cr, tol: Math.max(7, 2.5 * spread) };
}

function isSkin(img: RgbImage, i: number, s: SkinModel): boolean {
  const [y, cb, cr] = chroma(img.data, i * 3);
  return y > 35 && Math.abs(cb - s.cb) <= s.tol && Math.abs(cr - s.cr) <= s.tol;
}

/**
 * Person mask minus head, neck, hands, feet and bare skin on the limbs and neckline. Geometry is
 * measured in shoulder widths along the shoulder line (so a tilted body works).
 */
export function wornMask(
  img: RgbImage,
  person: Mask,
  who: CocoPerson,
  faceLandmarks?: readonly (readonly [number, number])[],
): Mask {
  const k = who.keypoints;
  const ok = (i: number): Keypoint | undefined => (k[i][2] >= GARMENT_RULES.minKeypoint ? k[i] : undefined);
  const [bx1, by1, bx2, by2] = who.box;
  const ls = ok(5);
  const rs = ok(6);
  const sw = ls && rs ? Math.hypot(ls[0] - rs[0], ls[1] - rs[1]) : 0.25 * (by2 - by1);
  // Neck and "up" (perpendicular to the shoulders, towards the head).
  const neck: Point =
    ls && rs ? [(ls[0] + rs[0]) / 2, (ls[1] + rs[1]) / 2] : [(bx1 + bx2) / 2, by1 + 0.2 * (by2 - by1)];
  let ux = 0;
  let uy = -1;
  if (ls && rs) {
    ux = ls[1] - rs[1];
    uy = -(ls[0] - rs[0]);
    const n = Math.hypot(ux, uy) || 1;
    ux /= n;
    uy /= n;
    const nose = ok(0);
    const towardsHead = nose ? (nose[0] - neck[0]) * ux + (nose[1] - neck[1]) * uy : -uy;
    if (towardsHead < 0) {
      ux = -ux;
      uy = -uy;
    }
  }
  const remove: Mask = {
    width: img.width,
    height: img.height,
    data: new Float32Array(img.width * img.height),
  };
  const padX = 0.1 * (bx2 - bx1);
  const padY = 0.1 * (by2 - by1);
  // Head, hair and neck: everything well above the shoulder line, and a corridor around the neck
  // from just below it (shoulder tops further out stay garment).
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const i = y * img.width + x;
      if (person.data[i] < 0.5) continue;
      // Another person's mask (outside this person's box, grown by 10%) is not this garment.
      if (x < bx1 - padX || x > bx2 + padX || y < by1 - padY || y > by2 + padY) {
        remove.data[i] = 1;
        continue;
      }
      const px = x + 0.5 - neck[0];
      const py = y + 0.5 - neck[1];
      const up = px * ux + py * uy;
      const side = Math.abs(px * -uy + py * ux);
      if (up > 0.15 * sw || (up > -0.05 * sw && side < 0.33 * sw)) remove.data[i] = 1;
    }
  }
  if (faceLandmarks && faceLandmarks.length >= 17) {
    const hull = fillPolygon(convexHull(faceLandmarks as Point[]), img.width, img.height);
    for (let i = 0; i < hull.data.length; i++) if (hull.data[i] > 0) remove.data[i] = 1;
  }
  // Hands and feet go whatever their colour; arms, legs and the neckline only where bare skin.
  const reach = (a: Keypoint | undefined, b: Keypoint | undefined, share: number, r: number) => {
    if (!b) return;
    if (!a) {
      paintCapsule(remove, [b[0], b[1]], [b[0], b[1]], r * 1.2, 1);
      return;
    }
    paintCapsule(remove, [b[0], b[1]], [b[0] + (b[0] - a[0]) * share, b[1] + (b[1] - a[1]) * share], r, 1);
  };
  const r = GARMENT_RULES.limbRadius * sw;
  reach(ok(7), ok(9), GARMENT_RULES.handReach, r * 0.9);
  reach(ok(8), ok(10), GARMENT_RULES.handReach, r * 0.9);
  reach(ok(13), ok(15), GARMENT_RULES.footReach, r);
  reach(ok(14), ok(16), GARMENT_RULES.footReach, r);
  const limbs: Mask = {
    width: img.width,
    height: img.height,
    data: new Float32Array(img.width * img.height),
  };
  for (const [a, b] of [
    [5, 7],
    [7, 9],
    [6, 8],
    [8, 10],
    [11, 13],
    [13, 15],
    [12, 14],
    [14, 16],
  ] as const) {
    const ka = ok(a);
    const kb = ok(b);
    if (ka && kb) paintCapsule(limbs, [ka[0], ka[1]], [kb[0], kb[1]], r, 1);
  }
  // Neckline: from the neck down the chest.
  paintCapsule(limbs, neck, [neck[0] - ux * 0.6 * sw, neck[1] - uy * 0.6 * sw], 0.3 * sw, 1);
  const skinAt: Point[] = [];
  if (faceLandmarks && faceLandmarks.length >= 68) {
    const lm = faceLandmarks;
    const mid = (a: number, b: number): Point => [(lm[a][0] + lm[b][0]) / 2, (lm[a][1] + lm[b][1]) / 2];
    skinAt.push(mid(3, 30), mid(13, 30), [lm[30][0], lm[30][1]]);
  } else if (ok(0)) {
    skinAt.push([k[0][0], k[0][1] + 0.05 * sw]);
  }
  const skin = skinAt.length ? skinModel(img, skinAt, Math.max(1, 0.04 * sw)) : undefined;
  if (skin) {
    for (let i = 0; i < limbs.data.length; i++) {
      if (limbs.data[i] > 0 && person.data[i] >= 0.5 && isSkin(img, i, skin)) remove.data[i] = 1;
    }
  }
  const garment = subtract(person, remove);
  // Trousers and a top can be separate regions (a bare midriff): keep regions a fifth the size
  // of the largest; fill holes up to 1% of the photo (a logo, a shadow).
  return fillHoles(keepLargest(garment, 0.2), img.width * img.height * 0.01);
}
