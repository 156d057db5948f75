/**
 * talk: a talking-head video of a portrait, from text (with a voice) or from the user's audio.
 * No worker runs it until an animator is installed: it answers "not available".
 */
import { z } from 'zod';
import { artifactRef } from '../reply.ts';
import { baseData, defineJob, notInstalled, reply, say } from './define.ts';

const data = baseData.extend({
  portrait: artifactRef,
  audio: artifactRef.optional(),
  text: z.string().max(500).optional(),
  voice: z.string().max(64).optional(),
});
const result = z.object({ video: artifactRef });

export const talk = defineJob({
  name: 'talk',
  queue: 'gpu-talk',
  data,
  result,
  feature: {
    name: 'Talking portraits',
    howToEnable: 'It needs a GPU worker with the talking-head models installed (docs/jobs.md).',
  },
  reply: (r) => ({ ...reply([say('reply.talk')]), video: r.video }),
  processor: () => notInstalled(),
});
