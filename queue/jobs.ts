/**
 * Typed job definitions: for each job name, the data it takes, the result it returns, the queue
 * (resource) it runs on, its priority and how its result reads to the user. Producer and worker
 * share these, so a wrong payload is refused at enqueue time with the exact field at fault.
 */
import { z } from 'zod';
import { InputError } from '../core/errors.ts';
import { USER_ID_RE } from '../core/storage/ids.ts';
import { findUnsafe } from './payload-guard.ts';
import { artifactRef, type Reply, replySchema, replyTargetSchema } from './reply.ts';

/** Queues by resource: a worker lists the queues it can serve (CPU only, or GPU with which models). */
export const QUEUES = ['cpu', 'gpu-sd15', 'gpu-talk', 'deliver'] as const;
export type QueueName = (typeof QUEUES)[number];

const identityId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _ only');

/** Fields every job carries: who asked, where the answer goes, which request it belongs to. */
export const baseData = z.object({
  user: z.string().regex(USER_ID_RE, 'must be <platform>-<id>, e.g. tg-12345'),
  target: replyTargetSchema,
  /** The user's request (root job id); filled by the producer. */
  requestId: z.string().max(120).optional(),
  /** Set by the producer on the steps of a flow (they read earlier steps' results). */
  flow: z.boolean().optional(),
});

export const jobSchemas = {
  analyze: {
    data: baseData.extend({ photo: artifactRef, embedding: z.boolean().default(false) }),
    result: z.object({ faces: z.number().int(), report: artifactRef, summary: z.string() }),
  },
  'prepare-identity': {
    data: baseData.extend({ identityId, photos: z.array(artifactRef).min(1).max(20) }),
    result: z.object({
      identityId,
      accepted: z.array(artifactRef),
      rejected: z.array(z.object({ photo: artifactRef, code: z.string(), message: z.string() })),
      report: artifactRef,
      embedding: artifactRef.optional(),
    }),
  },
  template: {
    data: baseData.extend({
      identityId,
      template: artifactRef,
      /** Fusion makes one image per chosen face; more are accepted for the command's sake (docs/pipelines.md). */
      count: z.number().int().min(1).max(8).default(1),
      /** Template face to replace, counted from the left from 0; default: the largest face. */
      face: z.number().int().min(0).max(63).optional(),
    }),
    result: z.object({
      images: z.array(artifactRef),
      scores: z.array(z.number()),
      faceIndex: z.number().int(),
      faceCount: z.number().int(),
    }),
  },
  'train-lora': {
    data: baseData.extend({ identityId, steps: z.number().int().min(50).max(5000).default(800) }),
    result: z.object({ identityId, lora: artifactRef }),
  },
  generate: {
    data: baseData.extend({
      mode: z.enum(['zero-shot', 'lora']),
      identityId: identityId.optional(),
      photo: artifactRef.optional(),
      style: z.string().regex(/^[a-z0-9_-]{1,48}$/),
      /** One of the user's own uploaded style LoRAs, applied on top of `style` (owner only). */
      userStyle: z
        .string()
        .regex(/^u-[0-9a-f]{12}$/)
        .optional(),
      count: z.number().int().min(1).max(8).default(4),
      seed: z
        .number()
        .int()
        .min(0)
        .max(2 ** 31)
        .optional(),
    }),
    result: z.object({ images: z.array(artifactRef), scores: z.array(z.number()) }),
  },
  'try-on': {
    data: baseData.extend({
      photo: artifactRef,
      garment: artifactRef,
      count: z.number().int().min(1).max(4).default(2),
    }),
    result: z.object({ images: z.array(artifactRef) }),
  },
  talk: {
    data: baseData.extend({
      portrait: artifactRef,
      audio: artifactRef.optional(),
      text: z.string().max(500).optional(),
      voice: z.string().max(64).optional(),
    }),
    result: z.object({ video: artifactRef }),
  },
  deliver: {
    data: baseData.extend({
      source: z.object({ queue: z.string(), id: z.string(), name: z.string() }),
      reply: replySchema,
    }),
    result: z.object({ delivered: z.boolean(), reason: z.string().optional() }),
  },
} as const;

export type JobName = keyof typeof jobSchemas;
export const JOB_NAMES = Object.keys(jobSchemas) as JobName[];
export type JobData<N extends JobName> = z.infer<(typeof jobSchemas)[N]['data']>;
export type JobInput<N extends JobName> = z.input<(typeof jobSchemas)[N]['data']>;
export type JobResult<N extends JobName> = z.infer<(typeof jobSchemas)[N]['result']>;

export interface JobDef<N extends JobName = JobName> {
  name: N;
  queue: QueueName;
  /** BullMQ priority (lower runs first; 0 = none). Zero-shot generation beats LoRA training. */
  priority(data: JobData<N>): number;
  /** Whether a successful result is sent to the user (children of a flow stay quiet). */
  delivers: boolean;
  toReply(result: JobResult<N>, data: JobData<N>): Reply;
}

const images = (refs: string[], text: string): Reply => ({ text, images: refs });

export const jobDefs: { [N in JobName]: JobDef<N> } = {
  analyze: {
    name: 'analyze',
    queue: 'cpu',
    priority: () => 0,
    delivers: true,
    toReply: (r) => ({ text: r.summary, images: [] }),
  },
  'prepare-identity': {
    name: 'prepare-identity',
    queue: 'cpu',
    priority: () => 0,
    delivers: true,
    toReply: (r) => ({
      text:
        `Prepared identity ${r.identityId}: ${r.accepted.length} photo(s) accepted, ${r.rejected.length} rejected.` +
        r.rejected.map((x) => `\n- ${x.message}`).join(''),
      images: r.accepted.slice(0, 10),
    }),
  },
  template: {
    name: 'template',
    queue: 'cpu',
    priority: () => 0,
    delivers: true,
    toReply: (r) =>
      images(
        r.images,
        `Here is your portrait in the template (face ${r.faceIndex + 1} of ${r.faceCount}` +
          (r.scores[0] === undefined ? ').' : `, likeness ${r.scores[0].toFixed(2)}).`),
      ),
  },
  'train-lora': {
    name: 'train-lora',
    queue: 'gpu-sd15',
    priority: () => 10,
    delivers: true,
    toReply: (r) => ({ text: `Your face model for ${r.identityId} is trained.`, images: [] }),
  },
  generate: {
    name: 'generate',
    queue: 'gpu-sd15',
    priority: (d) => (d.mode === 'zero-shot' ? 1 : 3),
    delivers: true,
    toReply: (r) => images(r.images, `Here are your ${r.images.length} portrait(s).`),
  },
  'try-on': {
    name: 'try-on',
    queue: 'gpu-sd15',
    priority: () => 2,
    delivers: true,
    toReply: (r) => images(r.images, 'Here is your try-on.'),
  },
  talk: {
    name: 'talk',
    queue: 'gpu-talk',
    priority: () => 0,
    delivers: true,
    toReply: (r) => ({ text: 'Here is your talking portrait.', images: [], video: r.video }),
  },
  deliver: {
    name: 'deliver',
    queue: 'deliver',
    priority: () => 0,
    delivers: false,
    toReply: () => ({ text: '', images: [] }),
  },
};

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(jobSchemas, name);
}

export function jobDef(name: string): JobDef {
  if (!isJobName(name))
    throw new InputError('unknown_job', `There is no job "${name}". Jobs: ${JOB_NAMES.join(', ')}.`);
  return jobDefs[name] as unknown as JobDef;
}

/** Validate job data; refuses bytes, URLs and secrets with the path of the offending field. */
export function parseJobData<N extends JobName>(name: N, data: unknown): JobData<N> {
  jobDef(name);
  const unsafe = findUnsafe(data);
  if (unsafe) throw new InputError('unsafe_payload', `Job "${name}" refused: ${unsafe}.`);
  const parsed = jobSchemas[name].data.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${['data', ...i.path].join('.')}: ${i.message}`)
      .join('; ');
    throw new InputError('bad_job_data', `Job "${name}" refused: ${problems}.`);
  }
  return parsed.data as JobData<N>;
}
