/**
 * How a job type is declared. Each job type is one file in this folder that calls `defineJob`
 * with everything about it: its data and result (zod), the queue (resource) it runs on, its
 * priority, the feature name users see when it is not available, the reply, the buttons on its
 * results, the follow-up jobs its result starts, the identity bookkeeping, and its processor.
 * `index.ts` lists the files; the producer, the worker, delivery and the CLI read only that table.
 */
import { z } from 'zod';
import { renderParts } from '../../base/i18n/index.ts';
import type { ArtifactStore } from '../../core/storage/artifacts.ts';
import { USER_ID_RE } from '../../core/storage/ids.ts';
import type { Identity, UserRecords } from '../records.ts';
import { type MessagePart, type Reply, replyTargetSchema } from '../reply.ts';

/** Queues by resource: a worker lists the queues it can serve (CPU only, or GPU with which models). */
export const QUEUES = ['cpu', 'gpu-sd15', 'gpu-talk', 'deliver'] as const;
export type QueueName = (typeof QUEUES)[number];
/** The queues BullMQ runs jobs on ('deliver' is the reply stream read by the bot process). */
export type WorkQueue = Exclude<QueueName, 'deliver'>;

export const identityId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _ only');

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
export type BaseData = z.infer<typeof baseData>;

/**
 * What may ride with a progress report: `preview`, an artifact ref of the user's (a small JPEG of
 * the picture being made), never image bytes. The processor removes it when the job ends.
 */
export interface ProgressExtra {
  preview?: string;
}

/** What a processor is given. Processors check `signal` between stages. */
export interface ProcessorContext<D = unknown> {
  jobId: string;
  requestId: string;
  name: string;
  data: D;
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborted when the user cancels or is forgotten; check it between stages. */
  signal: AbortSignal;
  /** The stage (an id with a catalog entry `stage.<id>`), the percentage, and a preview picture. */
  progress(stage: string, percent: number, extra?: ProgressExtra): void;
  artifacts: ArtifactStore;
  /** Results of the earlier steps of a flow, by job name. */
  previous: Record<string, unknown>;
  /** The user's identity record named by data.identityId (read on the main thread; threads have no Redis). */
  identity?: Identity;
}

export type ProcessorFn<D = unknown, R = unknown> = (ctx: ProcessorContext<D>) => Promise<R>;

/**
 * Where a processor runs: inline on the worker's event loop (light work, test doubles), or in a
 * worker thread (inference: ONNX Runtime blocks its thread, and the main thread must keep renewing
 * BullMQ locks). A thread processor is named by module URL and export, loaded in the thread.
 */
export type ProcessorSpec =
  | { kind: 'inline'; run: ProcessorFn<never, unknown> }
  | { kind: 'thread'; module: string; exportName: string };

/** A job whose models or tools are missing on this worker; `why` is logged for the operator. */
export interface NotInstalled {
  kind: 'not-installed';
  why?: string;
}

export const notInstalled = (why?: string): NotInstalled => ({
  kind: 'not-installed',
  ...(why ? { why } : {}),
});

/** A job the delivery of this one starts (e.g. training after the photo report), once per request. */
export interface FollowUp {
  /** Job name, as in index.ts. */
  name: string;
  data: Record<string, unknown>;
  /** Suffix of the follow-up's idempotency key (request id + key), so retries start it once. */
  key: string;
  /** Start it only when some worker runs that job (else skip quietly). */
  ifAvailable?: boolean;
}

export interface JobSpec<
  N extends string = string,
  D extends z.ZodType = z.ZodType,
  R extends z.ZodType = z.ZodType,
> {
  name: N;
  queue: WorkQueue;
  data: D;
  result: R;
  /** What users call it ("Portrait generation"), and how an operator makes it available. */
  feature: { name: string; howToEnable: string };
  /** BullMQ priority (lower runs first; 0 = none). Default 0. */
  priority?(data: z.infer<D>): number;
  /** Whether a successful result is sent to the user (children of a flow stay quiet). Default true. */
  delivers?: boolean;
  reply(result: z.infer<R>, data: z.infer<D>): Reply;
  /**
   * The result's images are results a user can act on: the front-ends add the result buttons,
   * all of them (`true`) or these (reroll, vary, upscale, animate, tryon, info, delete).
   */
  resultButtons?: true | readonly string[];
  /** Jobs started after the result was delivered. */
  followUps?(result: z.infer<R>, data: z.infer<D>): FollowUp[];
  /** Identity-record bookkeeping on the worker's main thread (Redis), by outcome. */
  records?: {
    start?(records: UserRecords, data: z.infer<D>, identity: Identity | undefined): Promise<void>;
    result?(records: UserRecords, data: z.infer<D>, result: z.infer<R>): Promise<void>;
    failure?(records: UserRecords, data: z.infer<D>, code: string): Promise<void>;
  };
  /**
   * The processor this deployment runs for it, or why it cannot run here (its models or tools are
   * missing): the worker then answers "not available" with `feature`, never a stand-in result.
   */
  processor(): ProcessorSpec | NotInstalled | Promise<ProcessorSpec | NotInstalled>;
}

/** Identity function that keeps a job file's types (data, result) end to end. */
export function defineJob<N extends string, D extends z.ZodType, R extends z.ZodType>(
  spec: JobSpec<N, D, R>,
): JobSpec<N, D, R> {
  return spec;
}

/** A processor exported by a job file, run in a worker thread. */
export function inThread(moduleUrl: string, exportName = 'process'): ProcessorSpec {
  return { kind: 'thread', module: moduleUrl, exportName };
}

export const say = (key: string, params: Record<string, string | number> = {}): MessagePart => ({
  key,
  params,
});

/** A reply in translatable lines, with their English rendering as the plain-text fallback. */
export const reply = (parts: MessagePart[], images: string[] = []): Reply => ({
  text: renderParts('en', parts).slice(0, 4000),
  message: parts,
  images,
});

/**
 * A reply with result pictures: ordered by likeness to the user's face, best first, each with its
 * score (front-ends caption it), and those the safety check flagged marked to be sent blurred.
 */
export function pictureReply(
  parts: MessagePart[],
  r: { images: string[]; scores?: number[]; flagged?: number[] },
  /** Pictures shown after the results, without a likeness (a pose skeleton, a garment mask). */
  extra: string[] = [],
): Reply {
  const order = r.images.map((_, i) => i);
  const scores = r.scores?.length === r.images.length ? r.scores : undefined;
  if (scores) order.sort((a, b) => scores[b] - scores[a]);
  const flagged = new Set(r.flagged ?? []);
  const spoilers = order.flatMap((i, at) => (flagged.has(i) ? [at] : []));
  return {
    ...reply(parts, [...order.map((i) => r.images[i]), ...extra]),
    ...(scores ? { likeness: order.map((i) => Math.max(-1, Math.min(1, scores[i]))) } : {}),
    ...(spoilers.length ? { spoilers } : {}),
  };
}
