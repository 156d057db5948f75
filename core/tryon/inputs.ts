/**
 * Everything the generative try-on takes from the user's garment photo, in one call: the garment
 * mask (alpha, product photo or worn), the wearer's OpenPose skeleton (when someone wears it) and
 * the overlay to show the user what will be kept.
 */
import type { Mask } from '../fusion/raster.ts';
import type { RgbImage } from '../image/codec.ts';
import { drawSkeleton } from '../pose/draw.ts';
import { maskOverlay } from '../pose/overlay.ts';
import type { PersonModels } from '../pose/person-mask.ts';
import { type GarmentFaceAnalyzer, type GarmentSource, garmentMask } from './garment-mask.ts';

export interface TryOnInputs {
  garmentMask: Mask;
  source: GarmentSource;
  coverage: number;
  /** The wearer's skeleton at the photo's size (pose guidance); absent for a garment alone. */
  pose?: RgbImage;
  /** The mask drawn on the photo, for the user. */
  overlay: RgbImage;
}

export async function tryOnInputs(
  deps: { body: PersonModels; faces?: GarmentFaceAnalyzer },
  photo: RgbImage,
  alpha: Uint8Array | undefined,
  opts: { signal?: AbortSignal } = {},
): Promise<TryOnInputs> {
  const g = await garmentMask(deps, photo, alpha, opts);
  const wearer = g.people?.people[0];
  return {
    garmentMask: g.mask,
    source: g.source,
    coverage: g.coverage,
    ...(wearer ? { pose: drawSkeleton([wearer], photo.width, photo.height) } : {}),
    overlay: maskOverlay(photo, g.mask),
  };
}
