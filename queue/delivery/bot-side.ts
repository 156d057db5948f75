/**
 * The bot process's part of the job layer: it sends replies from the delivery stream through the
 * platforms' deliverers (starting the follow-ups they declare), and tells users about jobs BullMQ
 * failed for stalling too often (a worker died twice under them). Compute workers never run this.
 */
import type { EventEmitter } from 'node:events';
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { en } from '../../base/i18n/en.ts';
import { log } from '../../base/log.ts';
import type { ArtifactStore } from '../../core/storage/artifacts.ts';
import { queueReply, recordFailure, releasePending } from '../job-outcome.ts';
import type { FollowUp } from '../jobs/define.ts';
import { type JobData, type JobName, parseJobData, QUEUES } from '../jobs/index.ts';
import { jobsTotal } from '../metrics.ts';
import type { UserRecords } from '../records.ts';
import type { Deliverers } from '../reply.ts';
import { StallWatch } from '../stall-watch.ts';
import { keys } from '../system.ts';
import { DeliveryConsumer } from './consumer.ts';
import { type DeliveryData, deliveryLane } from './entry.ts';

const logger = log('deliver');

export interface BotSideOptions {
  redis: Redis;
  prefix: string;
  deliverers: Deliverers;
  artifacts: ArtifactStore;
  records: UserRecords;
  concurrency: number;
  leaseMs: number;
  startFollowUp?: (d: DeliveryData, f: FollowUp) => Promise<void>;
  /** Queue handles of the worker's connection. */
  queue(name: string): Queue;
  /** Where 'delivered', 'delivery-failed' and 'failed' (stalled) are emitted. */
  events: EventEmitter;
}

export class BotSide {
  /** The main stream's consumer (web, command line, replies that name no bot). */
  readonly consumer: DeliveryConsumer;
  /** One consumer per bot lane served here (entry.ts `deliveryLane`). */
  private readonly lanes = new Map<string, DeliveryConsumer>();
  private readonly stallWatch: StallWatch;
  private running = false;

  constructor(private readonly o: BotSideOptions) {
    this.consumer = this.consumerFor(undefined);
    this.stallWatch = new StallWatch(
      o.redis,
      o.prefix,
      QUEUES.filter((q) => q !== 'deliver'),
      (q, id) => this.stallFailure(q, id),
    );
  }

  private consumerFor(lane: string | undefined): DeliveryConsumer {
    const o = this.o;
    return new DeliveryConsumer({
      redis: o.redis,
      prefix: o.prefix,
      ...(lane ? { lane } : {}),
      deliverers: o.deliverers,
      artifacts: o.artifacts,
      concurrency: o.concurrency,
      leaseMs: o.leaseMs,
      onDelivered: (id) => o.events.emit('delivered', id),
      startFollowUp: o.startFollowUp,
      onFailed: (id, code) => o.events.emit('delivery-failed', id, code),
    });
  }

  async start(): Promise<void> {
    this.running = true;
    await this.consumer.start();
    await this.serveLanes();
    this.stallWatch.start();
  }

  /**
   * Read the lane of every deliverer that names its bot (Deliverer.botId), once each. A chat
   * bot's replies wait on its lane until a process running that bot reads them: never taken (and
   * dropped) by a process without that bot, nor read before its front-end is up.
   */
  async serveLanes(): Promise<void> {
    for (const [platform, d] of Object.entries(this.o.deliverers)) {
      const lane = d?.botId ? deliveryLane({ platform, extra: { bot: d.botId } }) : undefined;
      if (!lane || this.lanes.has(lane) || !this.running) continue;
      const c = this.consumerFor(lane);
      this.lanes.set(lane, c);
      await c.start();
    }
  }

  /** Replies not yet sent, over every stream read here. */
  async depth(): Promise<{ waiting: number; active: number }> {
    const all = await Promise.all([this.consumer, ...this.lanes.values()].map((c) => c.depth()));
    return all.reduce((a, d) => ({ waiting: a.waiting + d.waiting, active: a.active + d.active }), {
      waiting: 0,
      active: 0,
    });
  }

  /** A job BullMQ failed for stalling: the user hears of it once, and their slot is freed. */
  private async stallFailure(queue: string, jobId: string): Promise<void> {
    const job: Job | undefined = await this.o.queue(queue).getJob(jobId);
    if (!job || (await this.o.redis.exists(keys.tombstone(this.o.prefix, jobId))) > 0) return;
    let data: JobData<JobName>;
    try {
      data = parseJobData(job.name as JobName, job.data);
    } catch {
      return;
    }
    jobsTotal.inc({ queue, name: job.name, outcome: 'failed' });
    logger.warn({ jobId, name: job.name }, 'job failed after stalling too often');
    const shown = { code: 'stalled', message: en['joberror.stalled'], key: 'joberror.stalled' };
    await queueReply(this.o.redis, this.o.prefix, job, data, {
      text: shown.message,
      images: [],
      error: shown,
    });
    await recordFailure(this.o.records, job.name, data, shown.code);
    await releasePending(this.o.redis, this.o.prefix, data, jobId);
    this.o.events.emit('failed', jobId, shown.code);
  }

  async close(deadlineMs: number): Promise<void> {
    this.running = false;
    this.stallWatch.stop();
    await Promise.all([this.consumer, ...this.lanes.values()].map((c) => c.close(deadlineMs)));
  }
}
