/**
 * What the job layer hands to a chat front-end: where to reply and what to say. Platform-neutral
 * and small; images and videos are artifact refs the front-end reads from the artifact store.
 * Platform secrets (e.g. a Discord interaction token) never ride here: the front-end keeps them
 * in memory keyed by the ids below.
 */
import { z } from 'zod';
import type { ArtifactStore } from '../core/storage/artifacts.ts';
import { ARTIFACT_REF_RE } from '../core/storage/artifacts.ts';

export const artifactRef = z
  .string()
  .regex(ARTIFACT_REF_RE, 'must be an artifact reference <user>/<sha256>.<ext> (store the file first)');

export const replyTargetSchema = z.object({
  /** The front-end that delivers it (telegram, discord, web, cli, or any front-end's name). */
  platform: z.string().regex(/^[a-z]{2,8}$/, 'a front-end name: 2-8 lowercase letters'),
  chatId: z.string().min(1).max(64),
  userId: z.string().min(1).max(64),
  /** Deliver by private message instead of to the chat the command came from. */
  privateDelivery: z.boolean().optional(),
  /** Small platform details (message id to answer, interaction id, thread id); no secrets. */
  extra: z.record(z.string().max(32), z.union([z.string().max(128), z.number()])).optional(),
});
export type ReplyTarget = z.infer<typeof replyTargetSchema>;

export const buttonSchema = z.object({
  id: z.string().min(1).max(64),
  label: z.string().min(1).max(80),
  style: z.enum(['primary', 'secondary', 'danger']).optional(),
});

/**
 * One line of a reply in words the front-end translates: a message key of commands/i18n and its
 * parameters (file names, counts; never paths or URLs). `bullet` marks an item of a list.
 */
export const messagePartSchema = z.object({
  key: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/),
  params: z.record(z.string().max(32), z.union([z.string().max(1000), z.number()])).default({}),
  bullet: z.boolean().optional(),
});
export type MessagePart = z.infer<typeof messagePartSchema>;

export const replySchema = z.object({
  /** English text: what a front-end shows when it does not render `message`. */
  text: z.string().max(4000),
  /** The same reply as translatable lines (bot/delivery.ts renders them in the user's language). */
  message: z.array(messagePartSchema).max(30).optional(),
  images: z.array(artifactRef).max(10).default([]),
  /** Likeness of each image to the user's face (cosine similarity, -1..1), in `images` order. */
  likeness: z.array(z.number().min(-1).max(1)).max(10).optional(),
  /** Indices of images the output safety check flagged: sent blurred (spoiler) where the platform can. */
  spoilers: z.array(z.number().int().min(0).max(9)).max(10).optional(),
  video: artifactRef.optional(),
  /** The picture had several faces: which one was used (0-based, from the left) of how many. */
  faces: z
    .object({ count: z.number().int().min(2).max(64), chosen: z.number().int().min(0).max(63) })
    .optional(),
  /** Send the video as a round video note where the platform has them (Telegram), text apart. */
  videoNote: z.boolean().optional(),
  buttons: z.array(z.array(buttonSchema).max(5)).max(5).optional(),
  /**
   * Set when the request failed; `text` is then the user-facing message. `key` names the catalog
   * entry when the message is one of the worker's own (an apology whatever the code).
   */
  error: z
    .object({
      code: z.string(),
      message: z.string(),
      key: z
        .string()
        .regex(/^[a-z][a-z0-9_.-]{0,63}$/)
        .optional(),
    })
    .optional(),
});
export type Reply = z.infer<typeof replySchema>;

export interface DeliveryContext {
  /** The user's request (root job id): the same id for every retry of this delivery. */
  requestId: string;
  user: string;
  /** The job whose result (or failure) this is, e.g. "generate": what the reply's buttons depend on. */
  job: string;
  artifacts: ArtifactStore;
  signal: AbortSignal;
}

/**
 * Implemented by each chat front-end. Throw a retryable error (ServiceError) on transient upload
 * failures; the deliver job is retried on its own and never re-runs the work that produced it.
 */
export interface Deliverer {
  deliver(target: ReplyTarget, reply: Reply, ctx: DeliveryContext): Promise<void>;
  /**
   * The bot this front-end speaks as (Telegram bot id, Discord application id), also put in its
   * reply targets as `extra.bot`: its replies then travel on that bot's own delivery lane, read
   * only by the process that runs it (queue/delivery/entry.ts `deliveryLane`).
   */
  readonly botId?: string;
}

/** Deliverers by platform; the job layer picks one per reply target. */
export type Deliverers = Partial<Record<ReplyTarget['platform'], Deliverer>>;
