/**
 * upscale: a result picture redrawn at twice its size by the engine's img2img
 * (core/portrait/upscale.ts), on gpu-sd15 where the SD 1.5 model folder is complete; elsewhere
 * "not available", never a plainly resized picture passed off as an upscale.
 */
import { z } from 'zod';
import { artifactRef } from '../reply.ts';
import { baseData, defineJob, identityId, type ProcessorContext, pictureReply, say } from './define.ts';
import { generateProcessor } from './generate.ts';

const data = baseData.extend({
  image: artifactRef,
  style: z
    .string()
    .regex(/^[a-z0-9_-]{1,48}$/)
    .optional(),
  /** Whose face to measure the likeness against (the user's prepared identity). */
  identityId: identityId.optional(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
});
const result = z.object({
  images: z.array(artifactRef),
  scores: z.array(z.number()),
  width: z.number().int(),
  height: z.number().int(),
  seed: z.number().int(),
  flagged: z.array(z.number().int().min(0)).optional(),
});

export const upscale = defineJob({
  name: 'upscale',
  queue: 'gpu-sd15',
  data,
  result,
  feature: {
    name: 'Upscaling',
    howToEnable:
      'It needs a worker with a Stable Diffusion 1.5 ONNX export installed (FACECHAIN_SD_MODEL_DIR; see docs/generation.md).',
  },
  priority: () => 1,
  reply: (r) => pictureReply([say('reply.upscaled', { width: r.width, height: r.height })], r),
  resultButtons: ['animate', 'delete'],
  // Where generation runs (the same model folder), in a worker thread.
  processor: async () => {
    const spec = await generateProcessor();
    return spec.kind === 'thread' ? { ...spec, module: import.meta.url } : spec;
  },
});

export async function process(ctx: ProcessorContext<z.infer<typeof data>>): Promise<z.infer<typeof result>> {
  const { upscalePortrait } = await import('../../core/portrait/upscale.ts');
  return upscalePortrait(ctx, ctx.data, ctx.identity);
}
