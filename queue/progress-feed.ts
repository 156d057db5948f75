/**
 * Change notices for followed jobs: workers publish a request id on one Redis channel when its
 * job starts, reports progress (at most a few times a second) or ends; the bot process keeps one
 * subscription and wakes the trackers of that request, which then read the job's state. Nothing
 * else rides on the channel (no stage text, no user data), and a missed notice only delays an
 * edit until the tracker's next periodic read.
 */
import type { Redis } from 'ioredis';
import { keys } from './system.ts';

export class ProgressFeed {
  private subscriber?: Redis;
  private ready?: Promise<void>;
  private readonly watchers = new Map<string, Set<() => void>>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private start(): Promise<void> {
    this.ready ??= (async () => {
      const sub = this.redis.duplicate();
      sub.on('error', () => {});
      sub.on('message', (_channel, id: string) => {
        for (const w of this.watchers.get(id) ?? []) w();
      });
      this.subscriber = sub;
      await sub.subscribe(keys.progressChannel(this.prefix));
    })();
    return this.ready;
  }

  /** Call `onChange` when request `id` changes; returns the unsubscribe. */
  async watch(id: string, onChange: () => void): Promise<() => void> {
    await this.start();
    let set = this.watchers.get(id);
    if (!set) {
      set = new Set();
      this.watchers.set(id, set);
    }
    set.add(onChange);
    return () => {
      set.delete(onChange);
      if (set.size === 0) this.watchers.delete(id);
    };
  }

  async close(): Promise<void> {
    this.watchers.clear();
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }
}

/** Worker side: publish that request `id` changed (not awaited; a lost notice costs one poll). */
export function notifyProgress(redis: Redis, prefix: string, id: string): void {
  redis.publish(keys.progressChannel(prefix), id).catch(() => {});
}
