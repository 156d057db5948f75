/**
 * A job that stalls more than BullMQ allows is failed by BullMQ's stalled check, without the
 * worker's processor wrapper running, so nobody would tell the user. The bot process polls the
 * work queues' failed sets for such failures (cheap: failures are rare, and a poll costs one
 * command per queue) and hands each one over once. Polling rather than following the queues'
 * event streams, which would wake the bot process for every event of every job.
 */
import type { Redis } from 'ioredis';
import { log } from '../base/log.ts';

const logger = log('stall-watch');
const STALL_RE = /(stalled|started) more than allowable limit/;

export class StallWatch {
  private timer?: NodeJS.Timeout;
  private readonly since = new Map<string, number>();
  /** Ids already handled at each queue's `since` score (scores are milliseconds and can tie). */
  private readonly seen = new Map<string, Set<string>>();
  private polling = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly queues: string[],
    private readonly onStallFailed: (queue: string, jobId: string) => Promise<void>,
    private readonly everyMs = 2000,
    /** How far back to look at start (failures while no bot process ran). */
    lookBackMs = 86_400_000,
  ) {
    for (const q of queues) this.since.set(q, Date.now() - lookBackMs);
  }

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.everyMs);
    this.timer.unref();
    void this.poll();
  }

  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const q of this.queues) await this.pollQueue(q);
    } catch (err) {
      logger.warn({ err }, 'could not check for stalled jobs');
    } finally {
      this.polling = false;
    }
  }

  private async pollQueue(q: string): Promise<void> {
    const since = this.since.get(q) ?? 0;
    const flat = await this.redis.zrangebyscore(
      `${this.prefix}:${q}:failed`,
      since,
      '+inf',
      'WITHSCORES',
      'LIMIT',
      0,
      200,
    );
    const seen = this.seen.get(q) ?? new Set<string>();
    let top = since;
    for (let i = 0; i < flat.length; i += 2) {
      const id = flat[i];
      const score = Number(flat[i + 1]);
      if (score === since && seen.has(id)) continue;
      if (score > top) {
        top = score;
        seen.clear();
      }
      seen.add(id);
      const reason = await this.redis.hget(`${this.prefix}:${q}:${id}`, 'failedReason');
      if (reason && STALL_RE.test(reason))
        await this.onStallFailed(q, id).catch((err) =>
          logger.error({ err, jobId: id }, 'could not report a stall failure'),
        );
    }
    this.since.set(q, top);
    this.seen.set(q, seen);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
