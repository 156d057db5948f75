/**
 * generate: portraits of the user in a style, FaceChain's inference on the SD 1.5 engine
 * (core/portrait/generate.ts), on gpu-sd15. Runs only where the SD 1.5 model folder is complete.
 */
import { z } from 'zod';
import { log } from '../../base/log.ts';
import { artifactRef } from '../reply.ts';
import {
  baseData,
  defineJob,
  identityId,
  inThread,
  notInstalled,
  type ProcessorContext,
  pictureReply,
  say,
} from './define.ts';

const data = baseData.extend({
  mode: z.enum(['zero-shot', 'lora']),
  identityId: identityId.optional(),
  photo: artifactRef.optional(),
  /** An OpenPose skeleton image (stored upload) guiding the body pose through ControlNet. */
  pose: artifactRef.optional(),
  style: z.string().regex(/^[a-z0-9_-]{1,48}$/),
  /** One of the user's own uploaded style LoRAs, applied on top of `style` (owner only). */
  userStyle: z
    .string()
    .regex(/^u-[0-9a-f]{12}$/)
    .optional(),
  count: z.number().int().min(1).max(8).default(4),
  /** The user's own words, added to the style's prompt (the dispatcher checked the blocklist). */
  prompt: z.string().max(300).optional(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
  /** "Vary" a result: its starting seed (`seed`) mixed with variation noise at `strength`. */
  variation: z
    .object({
      seed: z
        .number()
        .int()
        .min(0)
        .max(2 ** 32 - 1),
      strength: z.number().min(0.01).max(1),
    })
    .optional(),
});
const result = z.object({
  images: z.array(artifactRef),
  scores: z.array(z.number()),
  // How they were made (the info action; vary starts from `seeds`). Absent on older results.
  seeds: z.array(z.number().int()).optional(),
  variationSeeds: z.array(z.number().int()).optional(),
  strength: z.number().optional(),
  sampler: z.string().optional(),
  steps: z.number().int().optional(),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  method: z.enum(['fact', 'lora', 'style-only']).optional(),
  flagged: z.array(z.number().int().min(0)).optional(),
  /** The skeleton taken from the user's pose photo (shown with the result). */
  skeleton: artifactRef.optional(),
});

/** Real generation when the SD 1.5 model folder (default, or `modelDir`) is complete. */
export async function generateProcessor(modelDir?: string) {
  // A file check only: deciding at start-up loads no ONNX Runtime into this thread.
  const { defaultModelDir, folderProblem } = await import('../../core/diffusion/folder-check.ts');
  const problem = folderProblem(modelDir ?? defaultModelDir());
  if (problem === undefined) return inThread(import.meta.url);
  log('queue').info({ problem }, 'portrait generation not available on this worker');
  return notInstalled(problem);
}

export const generate = defineJob({
  name: 'generate',
  queue: 'gpu-sd15',
  data,
  result,
  feature: {
    name: 'Portrait generation',
    howToEnable:
      'It needs a worker with a Stable Diffusion 1.5 ONNX export installed (FACECHAIN_SD_MODEL_DIR; see docs/generation.md).',
  },
  // Zero-shot first (a person waits at the chat), then LoRA portraits; training waits longest.
  priority: (d) => (d.mode === 'zero-shot' ? 0 : 3),
  reply: (r) =>
    pictureReply(
      [
        say(r.strength !== undefined ? 'reply.varied' : 'reply.generated', { count: r.images.length }),
        // A zero-shot request without FACT: the user is told the picture was made without a face model.
        ...(r.method === 'style-only' ? [say('reply.style_only')] : []),
        ...(r.skeleton ? [say('pose.preview')] : []),
      ],
      r,
      // The skeleton from the user's pose photo comes after the portraits, without a likeness.
      r.skeleton ? [r.skeleton] : [],
    ),
  resultButtons: true,
  processor: () => generateProcessor(),
});

export async function process(ctx: ProcessorContext<z.infer<typeof data>>): Promise<z.infer<typeof result>> {
  const { generatePortraits } = await import('../../core/portrait/generate.ts');
  return generatePortraits(ctx, ctx.data, ctx.identity);
}
