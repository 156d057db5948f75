/**
 * try-on-gpu: FaceChain's generative try-on on the SD 1.5 engine (core/tryon/tryon.ts): the
 * garment masked from the photo (alpha, product photo or worn), everything else repainted around
 * it with the wearer's pose through the OpenPose ControlNet, the user's face fused into each
 * candidate, ranked by likeness. Same data and reply as try-on.ts; runs where the SD model folder
 * is complete (gpu-sd15).
 */
import { throwIfAborted } from '../../base/errors.ts';
import { defineJob, type ProcessorContext } from './define.ts';
import { generateProcessor } from './generate.ts';
import { type TryOnData, tryOnData, tryOnReply, tryOnResult, userFaceFor } from './try-on.ts';

/** FaceChain's try-on prompt: the person, photographic, the garment kept as it is. */
const PROMPT =
  'a person wearing the clothes, upper_body, raw photo, masterpiece, solo, medium shot, high detail face, photorealistic, best quality';
const NEGATIVE = 'nsfw, lowres, bad anatomy, bad hands, missing fingers, worst quality, low quality, blurry';

export const tryOnGpu = defineJob({
  name: 'try-on-gpu',
  queue: 'gpu-sd15',
  data: tryOnData,
  result: tryOnResult,
  feature: {
    name: 'Generative virtual try-on',
    howToEnable:
      'It needs a GPU worker with a Stable Diffusion 1.5 ONNX export and its OpenPose ControlNet (docs/tryon-and-pose.md).',
  },
  priority: () => 2,
  reply: tryOnReply,
  resultButtons: true,
  processor: () => tryOnGpuProcessor(),
});

/** Runs where generation runs: the SD 1.5 model folder (default, or `modelDir`) is complete. */
export async function tryOnGpuProcessor(modelDir?: string) {
  const spec = await generateProcessor(modelDir);
  return spec.kind === 'thread' ? { ...spec, module: import.meta.url } : spec;
}

export async function process(ctx: ProcessorContext<TryOnData>) {
  const { decodeAlpha, decodeImage, encodePng } = await import('../../core/image/codec.ts');
  const { sharedBodyModels } = await import('../../core/pose/shared.ts');
  const { tryOnInputs } = await import('../../core/tryon/inputs.ts');
  const { tryOn } = await import('../../core/tryon/tryon.ts');
  const { sharedPipeline, defaultModelDir } = await import('../../core/diffusion/index.ts');
  const { assertSafetyReady, flaggedPictures } = await import('../../core/safety/classifier.ts');
  const { data, artifacts, signal } = ctx;
  await assertSafetyReady();
  const { analyzer, who } = await userFaceFor(ctx);
  ctx.progress('garment', 10);
  const bytes = await artifacts.read(data.garment);
  const garment = await decodeImage(bytes);
  const { alpha } = await decodeAlpha(bytes);
  const inputs = await tryOnInputs({ body: await sharedBodyModels(), faces: analyzer }, garment, alpha, {
    signal,
  });
  throwIfAborted(signal);
  ctx.progress('generate', 20);
  const r = await tryOn(
    { generator: sharedPipeline(defaultModelDir()), analyzer },
    {
      garment,
      alpha,
      garmentMask: inputs.garmentMask,
      ...(inputs.pose ? { pose: inputs.pose } : {}),
      prompt: PROMPT,
      negativePrompt: NEGATIVE,
      count: data.count,
      ...(data.seed !== undefined ? { seed: data.seed } : {}),
      userFace: who.face,
      userEmbedding: who.embedding,
      signal,
    },
  );
  throwIfAborted(signal);
  ctx.progress('safety', 90);
  const flagged = await flaggedPictures(
    r.images.map((i) => i.image),
    'try-on-gpu',
  );
  ctx.progress('store', 92);
  const images: string[] = [];
  const scores: number[] = [];
  for (const i of r.images) {
    images.push((await artifacts.put(data.user, await encodePng(i.image), { ext: 'png' })).ref);
    if (i.likeness !== undefined) scores.push(Math.round(i.likeness * 1000) / 1000);
  }
  const overlay = (await artifacts.put(data.user, await encodePng(inputs.overlay), { ext: 'png' })).ref;
  ctx.progress('done', 100);
  return { images, scores, engine: 'inpaint' as const, overlay, ...(flagged.length ? { flagged } : {}) };
}
