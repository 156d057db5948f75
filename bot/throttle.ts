/**
 * Flood-aware progress edits: at most one edit per chat every `intervalMs`. Newer text replaces
 * pending text (only the latest state matters); the final state is always sent.
 */
export class EditThrottle {
  private chats = new Map<string, { last: number; pending?: () => Promise<void>; timer?: NodeJS.Timeout }>();

  constructor(private readonly intervalMs: number) {}

  /** Schedule `edit` for `chat`; `final` edits wait their turn but are never dropped. */
  run(chat: string, edit: () => Promise<void>): Promise<void> {
    const s = this.chats.get(chat) ?? { last: 0 };
    this.chats.set(chat, s);
    const wait = s.last + this.intervalMs - Date.now();
    if (wait <= 0 && !s.timer) {
      s.last = Date.now();
      return edit().catch(() => {});
    }
    s.pending = edit;
    if (!s.timer) {
      s.timer = setTimeout(
        () => {
          s.timer = undefined;
          const next = s.pending;
          s.pending = undefined;
          s.last = Date.now();
          next?.().catch(() => {});
        },
        Math.max(0, wait),
      );
    }
    return Promise.resolve();
  }

  /** Wait until nothing is pending (tests, shutdown). */
  async drain(): Promise<void> {
    while ([...this.chats.values()].some((s) => s.timer)) await new Promise((r) => setTimeout(r, 20));
  }

  stop(): void {
    for (const s of this.chats.values()) if (s.timer) clearTimeout(s.timer);
    this.chats.clear();
  }
}
