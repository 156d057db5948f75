/**
 * A cache of sessions with LoRAs merged in, bounded by a memory budget. Switching back to a
 * recently used identity/style then costs nothing; a new combination costs a merge plus a session
 * load. Entries in use are never disposed: eviction of a busy entry waits for its last release.
 */

import { createHash } from 'node:crypto';
import { log } from '../../base/log.ts';
import type { OnnxSession } from '../../models/onnx.ts';
import type { LoraUse } from './match.ts';

export interface CacheHandle {
  session: OnnxSession;
  /** Call when the run is done; the entry may then be evicted. */
  release(): void;
}

interface Entry {
  key: string;
  bytes: number;
  session: Promise<OnnxSession>;
  users: number;
  lastUsed: number;
  evicted: boolean;
}

/** Digest of a LoRA's per-layer scales (alpha / rank), which a config file next to it can change. */
function scaleDigest(u: LoraUse): string {
  const h = createHash('sha256');
  for (const m of u.lora.modules) h.update(`${m.flat}:${m.alpha}/${m.rank};`);
  return h.digest('hex').slice(0, 8);
}

/** A stable cache key for a base model plus a set of LoRAs, their scales and multipliers (order-independent). */
export function mergeKey(base: string, uses: readonly LoraUse[]): string {
  const parts = uses.map((u) => `${u.lora.name}@${u.multiplier}~${scaleDigest(u)}`).sort();
  return [base, ...parts].join('|');
}

export class MergedSessionCache {
  private readonly entries = new Map<string, Entry>();
  private clock = 0;
  hits = 0;
  misses = 0;

  constructor(
    /** Budget in bytes of model weights kept loaded (ONNX Runtime holds about one copy of each). */
    readonly budgetBytes: number,
  ) {}

  get usedBytes(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.bytes;
    return n;
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /**
   * The session for `key`, built with `build` when absent. `build` returns the merged model bytes
   * and a function creating the session from them (so the cache can account for the size first).
   */
  async acquire(
    key: string,
    build: () => Promise<{ bytes: number; create: () => Promise<OnnxSession> }>,
  ): Promise<CacheHandle> {
    let e = this.entries.get(key);
    if (e) this.hits++;
    else {
      this.misses++;
      const built = await build();
      // Another caller may have built it meanwhile.
      e = this.entries.get(key);
      if (!e) {
        await this.makeRoom(built.bytes);
        e = { key, bytes: built.bytes, session: built.create(), users: 0, lastUsed: 0, evicted: false };
        this.entries.set(key, e);
        e.session.catch(() => this.entries.delete(key));
      }
    }
    e.users++;
    e.lastUsed = ++this.clock;
    const entry = e;
    let session: OnnxSession;
    try {
      session = await entry.session;
    } catch (err) {
      entry.users--;
      throw err;
    }
    let released = false;
    return {
      session,
      release: () => {
        if (released) return;
        released = true;
        entry.users--;
        if (entry.evicted && entry.users === 0) void dispose(entry);
      },
    };
  }

  private async makeRoom(bytes: number): Promise<void> {
    while (this.entries.size > 0 && this.usedBytes + bytes > this.budgetBytes) {
      const lru = [...this.entries.values()].sort((a, b) => a.lastUsed - b.lastUsed)[0]!;
      this.entries.delete(lru.key);
      lru.evicted = true;
      if (lru.users === 0) await dispose(lru);
    }
    if (bytes > this.budgetBytes)
      log('lora').warn(
        { bytes, budget: this.budgetBytes },
        'merged model is larger than the session cache budget',
      );
  }

  /** Drop entries whose key matches (e.g. every merge containing a user's face LoRA, on erasure). */
  async dropWhere(match: (key: string) => boolean): Promise<number> {
    let n = 0;
    for (const e of [...this.entries.values()])
      if (match(e.key)) {
        this.entries.delete(e.key);
        e.evicted = true;
        if (e.users === 0) await dispose(e);
        n++;
      }
    return n;
  }

  /** Dispose every idle session (busy ones are disposed when released). */
  async clear(): Promise<void> {
    for (const e of [...this.entries.values()]) {
      this.entries.delete(e.key);
      e.evicted = true;
      if (e.users === 0) await dispose(e);
    }
  }
}

async function dispose(e: Entry): Promise<void> {
  try {
    await (await e.session).dispose();
  } catch {
    // A session that failed to load has nothing to free.
  }
}
