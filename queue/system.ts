/**
 * The settings and connections the job layer shares between producer, workers and the CLI. One
 * object, built from config() in production and from explicit values in tests (fresh prefix per
 * test), so nothing below reads the environment.
 */
import { Queue } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { isFacechainError, ServiceError } from '../base/errors.ts';
import type { Config } from '../core/config.ts';
import type { ArtifactStore } from '../core/storage/artifacts.ts';
import { openArtifactStore } from '../core/storage/open-store.ts';
import type { S3Settings } from '../core/storage/s3-settings.ts';

export interface JobSystemOptions {
  redisUrl: string;
  /** Prefix of every key (BullMQ queues, records, counters). */
  prefix: string;
  artifactsDir: string;
  /** The S3 bucket that holds the artifacts instead of artifactsDir (FACECHAIN_ARTIFACTS_URL). */
  artifactsS3?: S3Settings;
  limits: { maxPending: number; maxRunning: number; dailyQuota: number };
  attempts: number;
  backoffMs: number;
  keepCompletedSeconds: number;
  keepFailedSeconds: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  /** How long forget() waits for a user's running jobs to stop before reporting them. */
  forgetWaitMs: number;
  /**
   * Refuse a job at enqueue time when no worker has advertised it recently (default true), so
   * a request for a feature this deployment lacks is answered at once, not left waiting.
   */
  requireWorker?: boolean;
  /** Data directory shared by the workers (face-LoRA files, merged models, user styles); default: the configured one. */
  dataDir?: string;
}

export function jobSystemOptions(
  cfg: Config,
  redisUrl: string,
  over: Partial<JobSystemOptions> = {},
): JobSystemOptions {
  return {
    redisUrl,
    prefix: cfg.FACECHAIN_QUEUE_PREFIX,
    artifactsDir: cfg.artifactsDir,
    artifactsS3: cfg.artifactsS3,
    limits: {
      maxPending: cfg.FACECHAIN_USER_MAX_PENDING,
      maxRunning: cfg.FACECHAIN_USER_MAX_RUNNING,
      dailyQuota: cfg.FACECHAIN_USER_DAILY_QUOTA,
    },
    attempts: cfg.FACECHAIN_JOB_ATTEMPTS,
    backoffMs: cfg.FACECHAIN_JOB_BACKOFF_MS,
    keepCompletedSeconds: cfg.FACECHAIN_KEEP_COMPLETED_SECONDS,
    keepFailedSeconds: cfg.FACECHAIN_KEEP_FAILED_SECONDS,
    lockDurationMs: cfg.FACECHAIN_LOCK_DURATION_MS,
    stalledIntervalMs: cfg.FACECHAIN_STALLED_INTERVAL_MS,
    forgetWaitMs: 15_000,
    ...over,
  };
}

/** The artifact store the options name: the S3 bucket when set, else the local folder. */
export function openArtifacts(opts: Pick<JobSystemOptions, 'artifactsDir' | 'artifactsS3'>): ArtifactStore {
  return openArtifactStore({ dir: opts.artifactsDir, s3: opts.artifactsS3 });
}

/**
 * Workers keep retrying forever while Redis is away (BullMQ requires maxRetriesPerRequest null);
 * producers fail fast so a chat front-end can answer "busy, try again" instead of hanging.
 */
export function redisConnection(url: string, role: 'worker' | 'producer'): Redis {
  const options: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: true, connectTimeout: 5000 };
  const r = new Redis(url, { ...options, lazyConnect: false, retryStrategy: (n) => Math.min(n * 200, 2000) });
  r.on('error', () => {}); // reported where commands fail; an unhandled 'error' event would crash the process
  return r;
}

export async function waitReady(r: Redis, ms = 10_000): Promise<void> {
  if (r.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      cleanup();
      reject(
        new ServiceError(
          'redis_unreachable',
          'Redis did not answer. Start Redis or set REDIS_URL (see docs/jobs.md).',
        ),
      );
    }, ms);
    const ok = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(t);
      r.off('ready', ok);
    };
    r.on('ready', ok);
  });
}

/** Keys outside BullMQ's own, all under the prefix. User keys live in queue/records.ts. */
export const CAPABILITY_TTL_SECONDS = 90;

export const keys = {
  cancelChannel: (p: string) => `${p}:cancel`,
  /** Workers publish a request id here when its job starts, moves on a stage, or ends. */
  progressChannel: (p: string) => `${p}:progress`,
  tombstone: (p: string, jobId: string) => `${p}:cancel:${jobId}`,
  durations: (p: string, name: string) => `${p}:stats:dur:${name}`,
  /** Heartbeat of "some worker runs this job" (expires when no worker refreshes it). */
  capability: (p: string, name: string) => `${p}:cap:${name}`,
};

/** One BullMQ Queue handle per queue name on a connection, made on first use (errors are the caller's). */
export function queueHandle(handles: Map<string, Queue>, name: string, redis: Redis, prefix: string): Queue {
  let q = handles.get(name);
  if (!q) {
    q = new Queue(name, { connection: redis, prefix });
    q.on('error', () => {});
    handles.set(name, q);
  }
  return q;
}

/** Redis or BullMQ failing under a producer call: one clear, retryable error for the user. */
export function queueUnavailable(e: unknown): never {
  if (isFacechainError(e)) throw e;
  throw new ServiceError(
    'queue_unavailable',
    'The job system is busy or unreachable right now. Please try again in a minute.',
    { cause: e },
  );
}
