/**
 * Telegram delivers an album as separate messages sharing a media_group_id. Collect them until
 * no new item arrived for `quietMs`, then hand the whole group over as one request.
 */
export class AlbumCollector<T> {
  private groups = new Map<string, { items: T[]; timer: NodeJS.Timeout }>();

  constructor(
    private readonly quietMs: number,
    private readonly onAlbum: (groupId: string, items: T[]) => void,
  ) {}

  add(groupId: string, item: T): void {
    const g = this.groups.get(groupId);
    if (g) {
      clearTimeout(g.timer);
      g.items.push(item);
      g.timer = this.arm(groupId);
    } else {
      this.groups.set(groupId, { items: [item], timer: this.arm(groupId) });
    }
  }

  private arm(groupId: string): NodeJS.Timeout {
    return setTimeout(() => {
      const g = this.groups.get(groupId);
      this.groups.delete(groupId);
      if (g) this.onAlbum(groupId, g.items);
    }, this.quietMs);
  }

  stop(): void {
    for (const g of this.groups.values()) clearTimeout(g.timer);
    this.groups.clear();
  }
}
