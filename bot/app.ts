/**
 * The composition root: the one place that wires the app together. Runs a job-layer process: Redis (found or private), the producer, a JobWorker for the
 * configured queues, optionally the deliver queue and the chat front-ends, the health/metrics
 * endpoint, the periodic retention sweep of stored files, and an orderly stop on SIGTERM/SIGINT.
 * `facechain start` and `facechain worker` are thin wrappers around this.
 */

import { ConfigError } from '../base/errors.ts';
import { log } from '../base/log.ts';
import type { Config } from '../core/config.ts';
import { type HealthServer, startHealthServer } from '../queue/health.ts';
import { QUEUES, type QueueName } from '../queue/jobs/index.ts';
import { logDeliverer } from '../queue/log-deliverer.ts';
import { followUpStarter, Producer } from '../queue/producer.ts';
import { ensureRedis, findRedis, type RedisHandle } from '../queue/redis-embedded.ts';
import type { Deliverers } from '../queue/reply.ts';
import { RetentionSweeper } from '../queue/retention.ts';
import { jobSystemOptions } from '../queue/system.ts';
import { JobWorker } from '../queue/worker.ts';

const logger = log('service');

export interface Stoppable {
  name: string;
  address?: string;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  cfg: Config;
  queues: QueueName[];
  /** Start a private redis-server when nothing answers (npm start); workers only join. */
  embeddedRedis: boolean;
  /** Serve the deliver queue and start the configured front-ends (the bot process). */
  frontends?: (ctx: { producer: Producer; deliverers: Deliverers; config: Config }) => Promise<Stoppable[]>;
  concurrency?: number;
  threads?: number;
}

export interface RunningService {
  redis: RedisHandle;
  worker: JobWorker;
  producer: Producer;
  health?: HealthServer;
  frontends: Stoppable[];
  /** Deletes stored files nobody needs after FACECHAIN_KEEP_FILES_HOURS (queue/retention.ts). */
  retention: RetentionSweeper;
  stop(reason?: string): Promise<void>;
}

export function parseQueues(list: string): QueueName[] {
  const qs = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const q of qs)
    if (!(QUEUES as readonly string[]).includes(q))
      throw new ConfigError(
        'bad_queue',
        `Unknown queue "${q}" in the queue list. Queues: ${QUEUES.join(', ')}.`,
      );
  return qs as QueueName[];
}

export async function runService(o: ServiceOptions): Promise<RunningService> {
  const { cfg } = o;
  const redis = o.embeddedRedis
    ? await ensureRedis({ redisUrl: cfg.REDIS_URL, dataDir: cfg.dataDir })
    : {
        url: await findRedis({ redisUrl: cfg.REDIS_URL, dataDir: cfg.dataDir }),
        embedded: false,
        stop: async () => {},
      };
  const sys = jobSystemOptions(cfg, redis.url);
  const producer = new Producer(sys);
  const deliverers: Deliverers = { cli: logDeliverer };
  const queues = [...new Set<QueueName>([...o.queues, ...(o.frontends ? (['deliver'] as const) : [])])];
  const worker = new JobWorker(sys, {
    queues,
    deliverers: queues.includes('deliver') ? deliverers : undefined,
    startFollowUp: followUpStarter(producer),
    concurrency: o.concurrency ?? cfg.FACECHAIN_WORKER_CONCURRENCY,
    threads: o.threads ?? cfg.FACECHAIN_WORKER_THREADS,
    shutdownDeadlineMs: cfg.FACECHAIN_SHUTDOWN_DEADLINE_MS,
  });
  const cleanup: Array<() => Promise<void>> = [];
  try {
    // A store that refuses these settings (S3 credentials, bucket) is the operator's to fix: say
    // so at start, not at the first job. One that is only unreachable may come back.
    await producer.artifacts.check?.().catch((e: unknown) => {
      if (e instanceof ConfigError) throw e;
      logger.warn(
        { code: (e as { code?: string }).code },
        'artifact store unreachable at start; jobs will retry',
      );
    });
    await worker.start();
    cleanup.push(async () => void (await worker.close()));
    const frontends = o.frontends ? await o.frontends({ producer, deliverers, config: cfg }) : [];
    // Each chat bot's replies wait on its own lane until its front-end runs here (a restarted bot
    // process finds them there); read them now.
    await worker.serveDeliveryLanes();
    const health =
      cfg.FACECHAIN_HEALTH_PORT > 0
        ? await startHealthServer({
            port: cfg.FACECHAIN_HEALTH_PORT,
            host: cfg.FACECHAIN_HEALTH_HOST,
            readiness: async () => {
              const problems: string[] = [];
              const pong = await Promise.race([
                producer.redis.ping().catch(() => 'down'),
                new Promise((r) => setTimeout(() => r('timeout'), 1000)),
              ]);
              if (pong !== 'PONG') problems.push(`redis: ${pong}`);
              if (!worker.isRunning) problems.push('worker: not running');
              return problems;
            },
          })
        : undefined;
    // One sweeper per process; across machines a Redis key lets one of them sweep per interval.
    const retention = new RetentionSweeper(producer, {
      keepFilesHours: cfg.FACECHAIN_KEEP_FILES_HOURS,
      intervalMinutes: cfg.FACECHAIN_RETENTION_INTERVAL_MINUTES,
    }).start();
    let stopping: Promise<void> | undefined;
    const stop = (reason = 'stop') => {
      stopping ??= (async () => {
        logger.info({ reason }, 'stopping');
        await retention.stop();
        await Promise.allSettled(frontends.map((f) => f.stop()));
        const { handedBack } = await worker.close();
        if (handedBack) logger.warn({ handedBack }, 'running jobs handed back to the queue');
        await producer.close().catch(() => {});
        await health?.close();
        await redis.stop();
      })();
      return stopping;
    };
    return { redis, worker, producer, health, frontends, retention, stop };
  } catch (e) {
    for (const c of cleanup.reverse()) await c().catch(() => {});
    await producer.close().catch(() => {});
    await redis.stop();
    throw e;
  }
}

/** Stop cleanly on SIGTERM/SIGINT (a second signal exits at once). Resolves when stopped. */
export function stopOnSignals(service: RunningService): Promise<void> {
  return new Promise((resolve) => {
    let count = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      count++;
      if (count > 1) process.exit(130);
      void service.stop(sig).then(resolve, (e) => {
        logger.error({ err: e }, 'error while stopping');
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
