/**
 * Change notices for followed jobs: workers publish a request id on one Redis channel when its
 * job starts (in start.lua), reports progress (at most a few times a second) or ends (in
 * finish.lua, as "<id>:done"); the bot process keeps one subscription and wakes the trackers of
 * that request, which then read the job's state. Nothing else rides on the channel (no stage
 * text, no user data), and a missed notice only delays an edit until the tracker's next read.
 * Announcing starts and ends inside the scripts that record them costs no extra round trip.
 */

export type NoticeKind = 'change' | 'done' | 'step';

/** The payload of a notice: the request id, and ":done" when its job ended (":step": a flow step). */
export function progressNotice(id: string, kind: NoticeKind = 'change'): string {
  return kind === 'change' ? id : `${id}:${kind}`;
}

import type { Redis } from 'ioredis';
import { keys } from './system.ts';

export class ProgressFeed {
  private subscriber?: Redis;
  private ready?: Promise<void>;
  private readonly watchers = new Map<string, Set<(kind: NoticeKind) => void>>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private start(): Promise<void> {
    this.ready ??= (async () => {
      const sub = this.redis.duplicate();
      sub.on('error', () => {});
      sub.on('message', (_channel, payload: string) => {
        const [id, kind] = payload.split(':');
        for (const w of this.watchers.get(id!) ?? []) w((kind as NoticeKind | undefined) ?? 'change');
      });
      this.subscriber = sub;
      await sub.subscribe(keys.progressChannel(this.prefix));
    })();
    return this.ready;
  }

  /** Call `onChange` when request `id` changes; returns the unsubscribe. */
  async watch(id: string, onChange: (kind: NoticeKind) => void): Promise<() => void> {
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
