/**
 * try-on: the user wearing a garment from a photo (core/tryon). No worker runs it until the
 * try-on models are installed: it answers "not available", never a stand-in picture.
 */
import { z } from 'zod';
import { artifactRef } from '../reply.ts';
import { baseData, defineJob, notInstalled, reply, say } from './define.ts';

const data = baseData.extend({
  photo: artifactRef,
  garment: artifactRef,
  count: z.number().int().min(1).max(4).default(2),
});
const result = z.object({ images: z.array(artifactRef) });

export const tryOn = defineJob({
  name: 'try-on',
  queue: 'gpu-sd15',
  data,
  result,
  feature: {
    name: 'Virtual try-on',
    howToEnable: 'It needs a GPU worker with the inpainting models installed (docs/jobs.md).',
  },
  priority: () => 2,
  reply: (r) => reply([say('reply.tryon')], r.images),
  resultButtons: ['animate', 'delete'],
  processor: () => notInstalled(),
});
