/**
 * template: the user's prepared face put into a template photo they sent, by landmark fusion
 * alone (core/template), so it runs on any CPU worker. Fusion is deterministic, so it makes one
 * image for the chosen face whatever `count` asks for. A template without a face, or a face index
 * that does not exist, is an InputError the user sees.
 */
import { z } from 'zod';
import { throwIfAborted } from '../../base/errors.ts';
import { artifactRef } from '../reply.ts';
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

const data = baseData.extend({
  identityId,
  template: artifactRef,
  /** Fusion makes one image per chosen face; more are accepted for the command's sake (docs/pipelines.md). */
  count: z.number().int().min(1).max(8).default(1),
  /** Template face to replace, counted from the left from 0; default: the largest face. */
  face: z.number().int().min(0).max(63).optional(),
});
const result = z.object({
  images: z.array(artifactRef),
  scores: z.array(z.number()),
  faceIndex: z.number().int(),
  faceCount: z.number().int(),
  flagged: z.array(z.number().int().min(0)).optional(),
});

export const template = defineJob({
  name: 'template',
  queue: 'cpu',
  data,
  result,
  feature: { name: 'Template portraits', howToEnable: 'Start a worker that serves the cpu queue.' },
  reply: (r) => ({
    ...pictureReply([say('reply.template', { face: r.faceIndex + 1, faces: r.faceCount })], r),
    // Several faces in the template: the front-end offers the others (template:face buttons).
    ...(r.faceCount > 1 ? { faces: { count: r.faceCount, chosen: r.faceIndex } } : {}),
  }),
  resultButtons: ['upscale', 'animate', 'delete'],
  processor: () => inThread(import.meta.url),
});

export async function process(ctx: ProcessorContext<z.infer<typeof data>>): Promise<z.infer<typeof result>> {
  const { config } = await import('../../core/config.ts');
  const { analyzerForTask } = await import('../../core/face/shared.ts');
  const { LandmarkFuser } = await import('../../core/fusion/fuser.ts');
  const { decodeImage } = await import('../../core/image/codec.ts');
  const { likenessAt } = await import('../../core/rank/likeness.ts');
  const { templatePortrait } = await import('../../core/template/template.ts');
  const { loadIdentityFace } = await import('../../core/identity/face-source.ts');
  const { assertSafetyReady } = await import('../../core/safety/classifier.ts');
  const { data, artifacts, signal } = ctx;
  await assertSafetyReady();
  const analyzer = await analyzerForTask(ctx);
  ctx.progress('identity', 10);
  const user = await loadIdentityFace(analyzer, artifacts, data.identityId, ctx.identity, signal);
  throwIfAborted(signal);
  ctx.progress('template', 30);
  const picture = await decodeImage(await artifacts.read(data.template));
  ctx.progress('fuse', 40);
  const out = await templatePortrait({ analyzer, fuser: new LandmarkFuser() }, user.face, picture, {
    faceIndex: data.face,
    fuse: { blend: config().FACECHAIN_FUSION_BLEND },
    signal,
  });
  throwIfAborted(signal);
  ctx.progress('score', 75);
  const like = await likenessAt(analyzer, out.image, out.box, user.embedding, signal);
  throwIfAborted(signal);
  const { ref, flagged } = await storeCheckedPicture(ctx, out.image, 'template', 85);
  return {
    ...(flagged ? { flagged } : {}),
    images: [ref],
    scores: like.score === undefined ? [] : [Math.round(like.score * 1000) / 1000],
    faceIndex: out.faceIndex,
    faceCount: out.faceCount,
  };
}
