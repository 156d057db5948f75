/**
 * A bound on how many updates the front-ends handle at once, across chats and platforms: one
 * instance is shared by Telegram, Discord and the web API (bot/frontends.ts). bot/serial.ts keeps
 * one chat's updates in order; this keeps a burst from many chats from holding unbounded photos
 * in memory and Redis and platform calls in flight. Excess updates wait their turn (first come,
 * first served); none is dropped.
 */

import { DEFAULT_MAX_CONCURRENT_UPDATES } from '../core/config.ts';

export class UpdateLimit {
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(readonly max: number = DEFAULT_MAX_CONCURRENT_UPDATES) {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`update limit must be an integer >= 1, got ${max}`);
  }

  /** Updates being handled now. */
  get active(): number {
    return this.running;
  }

  /** Updates waiting for a slot. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Run `task` when a slot is free; the slot is given back however the task ends. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.max) this.running++;
    // The slot is handed over directly by release(), so `running` never drops below the
    // number of tasks started and a newcomer cannot overtake a waiter.
    else await new Promise<void>((resolve) => this.queue.push(resolve));
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.running--;
  }
}
