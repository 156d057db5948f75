/**
 * Template mode: the user's face put into a template photo they choose.
 * - 'fusion' works with no generation model: the chosen template face is replaced by landmark
 *   fusion with the user's face.
 * - 'inpaint' is FaceChain's recipe (regenerate the face region with the identity, then fuse and
 *   blend back); it needs the generation engine, so it runs only when an inpainter is supplied
 *   and otherwise fails with NotAvailableError rather than pretending.
 * Faces in a group template are chosen by index, counted left to right as FaceChain-FACT does.
 */
import { NotAvailableError, throwIfAborted } from '../../base/errors.ts';
import { type Face, type ImageAnalysis, iou } from '../face/index.ts';
import { facesLeftToRight, fusionInput, largestFace, pickFace, uprightImage } from '../fusion/faces.ts';
import type { FaceFuser, FaceInImage, FuseOptions } from '../fusion/fuser.ts';
import { LandmarkFuser } from '../fusion/fuser.ts';
import type { RgbImage } from '../fusion/raster.ts';

/** What template mode needs from face analysis (FaceAnalyzer satisfies it). */
export interface TemplateAnalyzer {
  analyzeRgb(img: RgbImage, opts?: { embedding?: boolean; signal?: AbortSignal }): Promise<ImageAnalysis>;
}

/** One face of a template, regenerated with the user's identity (the generation engine's job). */
export interface TemplateInpaintRequest {
  template: RgbImage;
  face: Face;
  signal?: AbortSignal;
}

/** The hook for FaceChain's inpainting recipe; implemented where generation models are installed. */
export interface TemplateInpainter {
  readonly id: string;
  inpaintFace(req: TemplateInpaintRequest): Promise<RgbImage>;
}

export interface TemplateOptions {
  /**
   * Which template face to replace, counted left to right from 0. Default: the largest face
   * (a single-person template, possibly with small faces in the background).
   */
  faceIndex?: number;
  /** Count only the N largest faces (FaceChain-FACT's rule for group templates). */
  largest?: number;
  mode?: 'fusion' | 'inpaint';
  fuse?: FuseOptions;
  signal?: AbortSignal;
}

export interface TemplateResult {
  image: RgbImage;
  /** The face that was replaced (left-to-right index among the faces that count) and how many count. */
  faceIndex: number;
  faceCount: number;
  /** The template face's box, in the returned image's pixels. */
  box: Face['box'];
  method: string;
}

export interface TemplateDeps {
  analyzer: TemplateAnalyzer;
  fuser?: FaceFuser;
  inpainter?: TemplateInpainter;
}

/**
 * Put `user` (the user's face in its own upright photo) into `template` (upright pixels).
 * The template is analysed here; its faces are counted left to right.
 */
export async function templatePortrait(
  deps: TemplateDeps,
  user: FaceInImage,
  template: RgbImage,
  opts: TemplateOptions = {},
): Promise<TemplateResult> {
  const mode = opts.mode ?? 'fusion';
  if (mode === 'inpaint' && !deps.inpainter) {
    throw new NotAvailableError(
      'Template inpainting',
      'It needs the generation models (an SD 1.5 inpainting UNet with OpenPose and canny ControlNets); use fusion mode, which needs none.',
    );
  }
  // Analysis turns sideways photos upright; fuse in the frame its coordinates refer to.
  const analysis = await deps.analyzer.analyzeRgb(template, { signal: opts.signal });
  template = uprightImage(template, analysis);
  const counted =
    opts.largest === undefined ? analysis.faces : analysis.faces.slice(0, Math.max(1, opts.largest));
  let face =
    opts.faceIndex === undefined
      ? largestFace(analysis, 'template photo')
      : pickFace(analysis, opts.faceIndex, 'template photo', opts.largest);
  const faceIndex = facesLeftToRight(counted).indexOf(face);
  throwIfAborted(opts.signal);
  let base = template;
  let method: string;
  if (mode === 'inpaint' && deps.inpainter) {
    base = await deps.inpainter.inpaintFace({ template, face, signal: opts.signal });
    // The regenerated face has its own landmarks: find it again where the template face was.
    // If the detector misses it, the original landmarks still describe the region (inpainting
    // keeps the composition), so fusion goes ahead with them.
    const again = await deps.analyzer.analyzeRgb(base, { signal: opts.signal });
    const match = again.faces.map((f) => ({ f, o: iou(f.box, face.box) })).sort((a, b) => b.o - a.o)[0];
    if (match && match.o >= 0.3) face = match.f;
    method = `inpaint:${deps.inpainter.id}`;
  } else {
    method = 'fusion';
  }
  const fuser = deps.fuser ?? new LandmarkFuser();
  const image = await fuser.fuse(user, fusionInput(base, face), { ...opts.fuse, signal: opts.signal });
  return {
    image,
    faceIndex,
    faceCount: counted.length,
    box: face.box,
    method: `${method}+${fuser.id}`,
  };
}
