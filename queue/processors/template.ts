/**
 * template: the user's prepared face put into a template photo they sent, by landmark fusion
 * alone (core/template), so it runs on any CPU worker. Runs in a worker thread. Fusion is
 * deterministic, so it makes one image for the chosen face whatever `count` asks for.
 * A template without a face, or a face index that does not exist, is an InputError the user sees.
 */

import { throwIfAborted } from '../../base/errors.ts';
import { config } from '../../core/config.ts';
import { LandmarkFuser } from '../../core/fusion/fuser.ts';
import { decodeImage, encodePng } from '../../core/image/codec.ts';
import { likenessAt } from '../../core/rank/likeness.ts';
import { templatePortrait } from '../../core/template/template.ts';
import type { JobResult } from '../jobs.ts';
import type { ProcessorContext } from '../processor.ts';
import { sharedAnalyzer } from './analyze.ts';
import { loadIdentityFace } from './identity-face.ts';

export async function templateJob(ctx: ProcessorContext<'template'>): Promise<JobResult<'template'>> {
  const { data, artifacts, signal } = ctx;
  ctx.progress('load-models', 0);
  const analyzer = await sharedAnalyzer();
  throwIfAborted(signal);
  ctx.progress('identity', 10);
  const user = await loadIdentityFace(analyzer, artifacts, data.identityId, ctx.identity, signal);
  throwIfAborted(signal);
  ctx.progress('template', 30);
  const template = await decodeImage(await artifacts.read(data.template));
  ctx.progress('fuse', 40);
  const result = await templatePortrait({ analyzer, fuser: new LandmarkFuser() }, user.face, template, {
    faceIndex: data.face,
    fuse: { blend: config().FACECHAIN_FUSION_BLEND },
    signal,
  });
  throwIfAborted(signal);
  ctx.progress('score', 75);
  const like = await likenessAt(analyzer, result.image, result.box, user.embedding, signal);
  throwIfAborted(signal);
  ctx.progress('store', 90);
  const stored = await artifacts.put(data.user, await encodePng(result.image), { ext: 'png' });
  ctx.progress('done', 100);
  return {
    images: [stored.ref],
    scores: like.score === undefined ? [] : [Math.round(like.score * 1000) / 1000],
    faceIndex: result.faceIndex,
    faceCount: result.faceCount,
  };
}
