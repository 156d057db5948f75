/**
 * Typed job definitions: for each job name, the data it takes, the result it returns, the queue
 * (resource) it runs on, its priority and how its result reads to the user. Producer and worker
 * share these, so a wrong payload is refused at enqueue time with the exact field at fault.
 */
import { z } from 'zod';
import { InputError } from '../base/errors.ts';
import { isMessageKey, renderParts } from '../base/i18n/index.ts';
import { USER_ID_RE } from '../core/storage/ids.ts';
import { findUnsafe } from './payload-guard.ts';
import { artifactRef, type MessagePart, type Reply, replySchema, replyTargetSchema } from './reply.ts';

/** Queues by resource: a worker lists the queues it can serve (CPU only, or GPU with which models). */
export const QUEUES = ['cpu', 'gpu-sd15', 'gpu-talk', 'deliver'] as const;
export type QueueName = (typeof QUEUES)[number];

const identityId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _ only');

/** A photo's name as the user sent it, for the report: a bare name, no folders or control characters. */
export const PHOTO_NAME_RE = /^[^/\\\u0000-\u001f\u007f]{1,100}$/;
const photoName = z.string().regex(PHOTO_NAME_RE, 'a file name without folders, at most 100 characters');
const reasonParams = z.record(z.string().max(32), z.union([z.string().max(1000), z.number()]));

/** Fields every job carries: who asked, where the answer goes, which request it belongs to. */
export const baseData = z.object({
  user: z.string().regex(USER_ID_RE, 'must be <platform>-<id>, e.g. tg-12345'),
  target: replyTargetSchema,
  /** The user's request (root job id); filled by the producer. */
  requestId: z.string().max(120).optional(),
  /** Set by the producer on the steps of a flow (they read earlier steps' results). */
  flow: z.boolean().optional(),
  /**
   * Set by the producer: admitted while the user's running limit could not bind, so the worker
   * starts it without the slot check (queue/limits.ts, ADMIT). Ignored when a caller sets it.
   */
  free: z.boolean().optional(),
});

export const jobSchemas = {
  analyze: {
    data: baseData.extend({ photo: artifactRef, embedding: z.boolean().default(false) }),
    result: z.object({ faces: z.number().int(), report: artifactRef, summary: z.string() }),
  },
  'prepare-identity': {
    data: baseData.extend({
      identityId,
      photos: z.array(artifactRef).min(1).max(20),
      /** How the report names each photo (same order as photos); default "photo N". */
      names: z.array(photoName).max(20).optional(),
    }),
    result: z.object({
      identityId,
      accepted: z.array(artifactRef),
      /** Names (as the user sent them) of the accepted photos, in the order of `accepted`. */
      acceptedNames: z.array(photoName).optional(),
      rejected: z.array(
        z.object({
          photo: artifactRef,
          code: z.string(),
          message: z.string(),
          name: photoName.optional(),
          /** The reason's parameters (core/identity/reasons.ts), for the translated report. */
          params: reasonParams.optional(),
        }),
      ),
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
  'group-photo': {
    data: baseData.extend({
      template: artifactRef,
      /** Opted-in members with a prepared face, in the order they fill the template's faces (left to right). */
      members: z
        .array(
          z.object({
            crops: z.array(artifactRef).min(1).max(20),
            report: artifactRef.optional(),
            embedding: artifactRef.optional(),
          }),
        )
        .min(1)
        .max(20),
    }),
    result: z.object({
      images: z.array(artifactRef),
      placed: z.number().int(),
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
      /** An OpenPose skeleton image (stored upload) guiding the body pose through ControlNet. */
      pose: artifactRef.optional(),
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

const say = (key: string, params: Record<string, string | number> = {}): MessagePart => ({ key, params });

/** A reply in translatable lines, with their English rendering as the plain-text fallback. */
const reply = (parts: MessagePart[], images: string[] = []): Reply => ({
  text: renderParts('en', parts).slice(0, 4000),
  message: parts,
  images,
});

/** The per-photo report: how many are usable, which, and what to do about each one not used. */
export function photoReport(r: JobResult<'prepare-identity'>): MessagePart[] {
  const parts = [
    say('reply.report_summary', {
      accepted: r.accepted.length,
      total: r.accepted.length + r.rejected.length,
    }),
  ];
  // 20 names of up to 100 characters would pass a line's 1000-character parameter limit.
  const names = r.acceptedNames?.join(', ') ?? '';
  if (names)
    parts.push(
      say('reply.report_accepted', { names: names.length > 1000 ? `${names.slice(0, 999)}…` : names }),
    );
  if (r.rejected.length) parts.push(say('reply.report_rejected'));
  for (const x of r.rejected.slice(0, 25)) {
    const name = x.name ?? 'photo';
    const specific = `reject.${x.code}`;
    parts.push({
      ...(isMessageKey(specific)
        ? say(specific, { ...x.params, name })
        : say('reject.other', { name, message: String(x.params?.message ?? x.message) })),
      bullet: true,
    });
  }
  return parts;
}

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
    toReply: (r) => reply(photoReport(r), r.accepted.slice(0, 10)),
  },
  template: {
    name: 'template',
    queue: 'cpu',
    priority: () => 0,
    delivers: true,
    toReply: (r) => {
      const where = { face: r.faceIndex + 1, faces: r.faceCount };
      const score = r.scores[0];
      return reply(
        [
          score === undefined
            ? say('reply.template', where)
            : say('reply.template_likeness', { ...where, likeness: score.toFixed(2) }),
        ],
        r.images,
      );
    },
  },
  'group-photo': {
    name: 'group-photo',
    queue: 'cpu',
    priority: () => 0,
    delivers: true,
    toReply: (r) => reply([say('reply.group_photo', { placed: r.placed, faces: r.faceCount })], r.images),
  },
  'train-lora': {
    name: 'train-lora',
    queue: 'gpu-sd15',
    priority: () => 10,
    delivers: true,
    toReply: () => reply([say('reply.trained')]),
  },
  generate: {
    name: 'generate',
    queue: 'gpu-sd15',
    priority: (d) => (d.mode === 'zero-shot' ? 0 : 3),
    delivers: true,
    toReply: (r) => reply([say('reply.generated', { count: r.images.length })], r.images),
  },
  'try-on': {
    name: 'try-on',
    queue: 'gpu-sd15',
    priority: () => 2,
    delivers: true,
    toReply: (r) => reply([say('reply.tryon')], r.images),
  },
  talk: {
    name: 'talk',
    queue: 'gpu-talk',
    priority: () => 0,
    delivers: true,
    toReply: (r) => ({ ...reply([say('reply.talk')]), video: r.video }),
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
  assertSafePayload(name, data);
  return readJobData(name, data);
}

/** Refuses bytes, URLs and secrets (queue/payload-guard.ts) in data about to be stored. */
export function assertSafePayload(name: string, data: unknown): void {
  const unsafe = findUnsafe(data);
  if (unsafe) throw new InputError('unsafe_payload', `Job "${name}" refused: ${unsafe}.`);
}

/**
 * Validate job data read back from Redis (shape, defaults, a producer of another version). Not
 * guarded again: everything is guarded when it is written.
 */
export function readJobData<N extends JobName>(name: N, data: unknown): JobData<N> {
  jobDef(name);
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
