/**
 * try-on: the user wearing a garment from a photo. This file is the CPU job, on every deployment:
 * the basic try-on (core/tryon/basic.ts): the user's prepared face fused into the photo of the
 * person wearing the garment, with an optional background (studio, gradient, a photo). The reply
 * says it is the basic try-on. `try-on-gpu.ts` is FaceChain's generative recipe on the engine; the
 * command picks it when a worker runs it.
 */
import { z } from 'zod';
import { throwIfAborted } from '../../base/errors.ts';
import { artifactRef, type MessagePart } from '../reply.ts';
import { storeCheckedPicture } from './checked-picture.ts';
import {
  baseData,
  defineJob,
  identityId,
  inThread,
  type ProcessorContext,
  pictureReply,
  say,
} from './define.ts';

export const tryOnData = baseData.extend({
  /** The prepared identity whose face is used (its best crop and embedding). */
  identityId: identityId.optional(),
  /** Or a photo of the user (zero-shot, without a prepared identity). */
  photo: artifactRef.optional(),
  garment: artifactRef,
  background: z.enum(['keep', 'studio', 'gradient', 'photo']).default('keep'),
  backgroundPhoto: artifactRef.optional(),
  count: z.number().int().min(1).max(4).default(1),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31)
    .optional(),
});
export const tryOnResult = z.object({
  images: z.array(artifactRef),
  /** Likeness of each image to the user (identity cosine), in the order of `images`. */
  scores: z.array(z.number()),
  engine: z.enum(['basic', 'inpaint']),
  /** The garment mask drawn on the photo (generative try-on): what was kept. */
  overlay: artifactRef.optional(),
  /** Pictures the output safety check flagged (sent blurred). */
  flagged: z.array(z.number().int().min(0)).optional(),
});
export type TryOnData = z.infer<typeof tryOnData>;
type Result = z.infer<typeof tryOnResult>;

export function tryOnReply(r: Result) {
  // The likeness rides with each picture (front-ends caption it), the mask overlay after them.
  const lines: MessagePart[] = [
    say(r.engine === 'basic' ? 'tryon.basic_result' : 'reply.tryon'),
    ...(r.overlay ? [say('tryon.mask_preview')] : []),
  ];
  return pictureReply(lines, r, r.overlay ? [r.overlay] : []);
}

export const tryOn = defineJob({
  name: 'try-on',
  queue: 'cpu',
  data: tryOnData,
  result: tryOnResult,
  feature: {
    name: 'Virtual try-on',
    howToEnable: 'Start a worker that serves the cpu queue (docs/tryon-and-pose.md).',
  },
  priority: () => 2,
  reply: tryOnReply,
  resultButtons: ['upscale', 'animate', 'delete'],
  processor: () => inThread(import.meta.url),
});

/** The user's face for try-on: the prepared identity's, else the face in their photo. */
export async function userFaceFor(ctx: ProcessorContext<TryOnData>) {
  const { analyzerForTask } = await import('../../core/face/shared.ts');
  const { loadIdentityFace, loadPhotoFace } = await import('../../core/identity/face-source.ts');
  const { InputError } = await import('../../base/errors.ts');
  const analyzer = await analyzerForTask(ctx);
  const { data, artifacts, signal } = ctx;
  ctx.progress('identity', 5);
  if (data.identityId)
    return {
      analyzer,
      who: await loadIdentityFace(analyzer, artifacts, data.identityId, ctx.identity, signal),
    };
  if (data.photo) return { analyzer, who: await loadPhotoFace(analyzer, artifacts, data.photo, signal) };
  throw new InputError('no_identity', 'Try-on needs your face: send a few photos of yourself first.');
}

export async function process(ctx: ProcessorContext<TryOnData>): Promise<Result> {
  const { decodeImage } = await import('../../core/image/codec.ts');
  const { sharedBodyModels } = await import('../../core/pose/shared.ts');
  const { tryOnBasic } = await import('../../core/tryon/basic.ts');
  const { assertSafetyReady } = await import('../../core/safety/classifier.ts');
  const { data, artifacts, signal } = ctx;
  await assertSafetyReady();
  const { analyzer, who } = await userFaceFor(ctx);
  ctx.progress('garment', 20);
  const garment = await decodeImage(await artifacts.read(data.garment));
  const backgroundPhoto = data.backgroundPhoto
    ? await decodeImage(await artifacts.read(data.backgroundPhoto))
    : undefined;
  const body = await sharedBodyModels();
  throwIfAborted(signal);
  ctx.progress('try-on', 30);
  const r = await tryOnBasic(
    { body, analyzer },
    {
      garment,
      user: who.face,
      userEmbedding: who.embedding,
      background: data.background,
      ...(backgroundPhoto ? { backgroundPhoto } : {}),
      signal,
    },
  );
  throwIfAborted(signal);
  const { ref, flagged } = await storeCheckedPicture(ctx, r.image, 'try-on', 85);
  return {
    ...(flagged ? { flagged } : {}),
    images: [ref],
    scores: r.likeness === undefined ? [] : [Math.round(r.likeness * 1000) / 1000],
    engine: 'basic',
  };
}
