/**
 * The basic try-on, which runs on any CPU: the garment photo must show one person wearing the
 * garment; the user's prepared face is fused into that person (template mode, landmark fusion),
 * and optionally the background is replaced using the person mask (studio white, a soft
 * gradient, or a photo the user sends). The result is a real picture of the garment as worn in
 * the photo, with the user's face — labelled engine 'basic' — and its likeness to the user.
 * The generative recipe (repaint everything but the garment) is tryOn() in tryon.ts.
 */
import { InputError, throwIfAborted } from '../../base/errors.ts';
import type { FaceFuser, FaceInImage } from '../fusion/fuser.ts';
import { LandmarkFuser } from '../fusion/fuser.ts';
import { gaussianBlur } from '../fusion/mask.ts';
import type { Mask, RgbImage } from '../fusion/raster.ts';
import { type RgbImage as Rgb, resizeRgb } from '../image/codec.ts';
import type { BodyPose } from '../pose/keypoints.ts';
import { findPeople, onePerson, type PersonModels } from '../pose/person-mask.ts';
import { type LikenessAnalyzer, likenessAt } from '../rank/likeness.ts';
import { type TemplateAnalyzer, templatePortrait } from '../template/template.ts';

export type BackgroundPreset = 'keep' | 'studio' | 'gradient' | 'photo';
export const BACKGROUND_PRESETS: readonly BackgroundPreset[] = ['keep', 'studio', 'gradient', 'photo'];

export interface BasicTryOnRequest {
  /** The garment photo: one person wearing the garment (upright RGB). */
  garment: RgbImage;
  /** The user's face in its own photo or prepared crop, with 68 landmarks. */
  user: FaceInImage;
  /** The user's identity embedding (L2-normalised), for the likeness score. */
  userEmbedding: Float32Array;
  background?: BackgroundPreset;
  /** The background photo for preset 'photo'. */
  backgroundPhoto?: RgbImage;
  signal?: AbortSignal;
}

export interface BasicTryOnResult {
  image: RgbImage;
  engine: 'basic';
  /** Identity cosine of the result's face to the user (undefined when no face is found there). */
  likeness: number | undefined;
  background: BackgroundPreset;
  /** The wearer's pose (OpenPose order) and the person mask used for the background. */
  person: BodyPose;
  /** Milliseconds per stage. */
  timings: Record<'people' | 'fuse' | 'mask' | 'background' | 'likeness', number>;
}

export interface BasicTryOnDeps {
  body: PersonModels;
  analyzer: TemplateAnalyzer & LikenessAnalyzer;
  fuser?: FaceFuser;
}

const STUDIO: readonly number[] = [244, 244, 242];
const GRADIENT_TOP: readonly number[] = [236, 238, 244];
const GRADIENT_BOTTOM: readonly number[] = [176, 182, 196];

/** The background preset's pixels at width × height. */
export async function backgroundImage(
  preset: Exclude<BackgroundPreset, 'keep'>,
  width: number,
  height: number,
  photo?: RgbImage,
): Promise<RgbImage> {
  const data = new Uint8Array(width * height * 3);
  if (preset === 'photo') {
    if (!photo)
      throw new InputError(
        'no_background_photo',
        'The "photo" background needs a background photo; send one with the request.',
      );
    // Cover: scale so the photo fills the frame, then take its centre.
    const s = Math.max(width / photo.width, height / photo.height);
    const sw = Math.max(width, Math.round(photo.width * s));
    const sh = Math.max(height, Math.round(photo.height * s));
    const big = await resizeRgb(photo, sw, sh);
    const ox = Math.floor((sw - width) / 2);
    const oy = Math.floor((sh - height) / 2);
    for (let y = 0; y < height; y++)
      data.set(big.data.subarray(((y + oy) * sw + ox) * 3, ((y + oy) * sw + ox + width) * 3), y * width * 3);
    return { width, height, data };
  }
  for (let y = 0; y < height; y++) {
    // Soft gradient: light at the top, darker towards the floor, a faint vignette at the sides.
    const t = height > 1 ? y / (height - 1) : 0;
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      if (preset === 'studio') data.set(STUDIO, i);
      else {
        const v = 1 - 0.06 * ((2 * x) / Math.max(1, width - 1) - 1) ** 2;
        for (let c = 0; c < 3; c++)
          data[i + c] = Math.round((GRADIENT_TOP[c] + (GRADIENT_BOTTOM[c] - GRADIENT_TOP[c]) * t * t) * v);
      }
    }
  }
  return { width, height, data };
}

/** Person over a new background through a softly feathered mask. */
export function composite(person: RgbImage, mask: Mask, background: RgbImage): RgbImage {
  const sigma = Math.max(0.8, Math.min(person.width, person.height) / 500);
  const alpha = gaussianBlur(mask, sigma);
  const out = new Uint8Array(person.data.length);
  for (let i = 0; i < alpha.data.length; i++) {
    const a = Math.max(0, Math.min(1, alpha.data[i]));
    for (let c = 0; c < 3; c++)
      out[i * 3 + c] = Math.round(person.data[i * 3 + c] * a + background.data[i * 3 + c] * (1 - a));
  }
  return { width: person.width, height: person.height, data: out };
}

export async function tryOnBasic(deps: BasicTryOnDeps, req: BasicTryOnRequest): Promise<BasicTryOnResult> {
  const background = req.background ?? 'keep';
  if (!BACKGROUND_PRESETS.includes(background))
    throw new InputError(
      'bad_background',
      `Unknown background "${background}"; choose ${BACKGROUND_PRESETS.join(', ')}.`,
    );
  if (background === 'photo' && !req.backgroundPhoto)
    throw new InputError(
      'no_background_photo',
      'The "photo" background needs a background photo; send one with the request.',
    );
  const timings = { people: 0, fuse: 0, mask: 0, background: 0, likeness: 0 };
  let t = performance.now();
  const lap = (k: keyof typeof timings) => {
    const now = performance.now();
    timings[k] += now - t;
    t = now;
  };
  // The garment photo must show exactly one person: checked before any fusion work.
  const found = await findPeople(deps.body, req.garment, { signal: req.signal });
  const wearer = onePerson(found, 'garment photo');
  lap('people');
  throwIfAborted(req.signal);
  const fused = await templatePortrait(
    { analyzer: deps.analyzer, fuser: deps.fuser ?? new LandmarkFuser() },
    req.user,
    req.garment,
    {
      signal: req.signal,
    },
  );
  lap('fuse');
  let image: Rgb = fused.image;
  if (background !== 'keep') {
    // Fusion may have turned a sideways photo upright, so the mask is measured on the fused picture.
    const { mask } = await findPeople(deps.body, image, { signal: req.signal });
    lap('mask');
    throwIfAborted(req.signal);
    const bg = await backgroundImage(background, image.width, image.height, req.backgroundPhoto);
    image = composite(image, mask, bg);
    lap('background');
  }
  const like = await likenessAt(deps.analyzer, image, fused.box, req.userEmbedding, req.signal);
  lap('likeness');
  return { image, engine: 'basic', likeness: like.score, background, person: wearer.pose, timings };
}
