/**
 * Runs tasks one after another per key (a chat) and concurrently across keys, so one user's slow
 * photo download never holds up another chat, while one chat's messages keep their order.
 */
export class KeyedSerial {
  private tails = new Map<string, Promise<void>>();
  private all = new Set<Promise<void>>();

  run(key: string, task: () => Promise<void>): Promise<void> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(task, task).catch(() => {});
    this.tails.set(key, next);
    this.all.add(next);
    void next.finally(() => {
      this.all.delete(next);
      if (this.tails.get(key) === next) this.tails.delete(key);
    });
    return next;
  }

  /** Resolves when every task started so far has ended. */
  async idle(): Promise<void> {
    while (this.all.size) await Promise.all([...this.all]);
  }
}
