/**
 * Redis over a run: used memory, key count, and the keys by kind (digits folded, so
 * `crowd:u:tg-100001:idem:tg-u1003` counts as `crowd:u:tg-#:idem:tg-u#`), each kind split into
 * keys that expire and keys that never do. A kind that grows without expiring is what a soak
 * looks for; one that grows with a TTL levels off after that TTL, by design.
 */
import { Redis } from 'ioredis';

export interface RedisSample {
  /** Seconds since the sampler started. */
  t: number;
  usedMemoryMb: number;
  keys: number;
  /** kind → [keys with a TTL, keys without one]; only in full samples. */
  kinds?: Record<string, [number, number]>;
  /** Length of each stream (events, deliveries); only in full samples. */
  streams?: Record<string, number>;
}

export function kindOf(key: string, prefix: string): string {
  return key
    .replace(`${prefix}:`, '')
    .replace(/\d+/g, '#')
    .replace(/(cb|mg)[A-Za-z0-9_#-]+/g, '$1…');
}

export class RedisSampler {
  readonly samples: RedisSample[] = [];
  private redis: Redis;
  private timer?: NodeJS.Timeout;
  private readonly t0 = performance.now();
  private busy = false;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly everyMs: number,
  ) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
    this.redis.on('error', () => {});
  }

  async start(): Promise<void> {
    await this.redis.connect().catch(() => {});
    await this.sample(true);
    if (this.everyMs > 0) {
      this.timer = setInterval(() => void this.sample(true), this.everyMs);
      this.timer.unref();
    }
  }

  async sample(full: boolean): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const t = (performance.now() - this.t0) / 1000;
      const info = await this.redis.info('memory');
      const usedMemoryMb = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0) / 1048576;
      const keys = await this.redis.dbsize();
      const s: RedisSample = { t, usedMemoryMb, keys };
      if (full) {
        const kinds: Record<string, [number, number]> = {};
        const streams: Record<string, number> = {};
        let cursor = '0';
        do {
          const [next, batch] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 1000);
          cursor = next;
          if (!batch.length) continue;
          const meta = await this.redis
            .pipeline(
              batch.flatMap((k) => [
                ['pttl', k],
                ['type', k],
              ]),
            )
            .exec();
          batch.forEach((k, i) => {
            const ttl = Number(meta?.[2 * i]?.[1] ?? -1);
            const type = String(meta?.[2 * i + 1]?.[1] ?? '');
            const kind = kindOf(k, this.prefix);
            const row = kinds[kind] ?? [0, 0];
            kinds[kind] = row;
            row[ttl >= 0 ? 0 : 1]++;
            if (type === 'stream') streams[k.replace(`${this.prefix}:`, '')] = 0;
          });
        } while (cursor !== '0');
        for (const k of Object.keys(streams)) streams[k] = await this.redis.xlen(`${this.prefix}:${k}`);
        s.kinds = kinds;
        s.streams = streams;
      }
      this.samples.push(s);
    } catch {
      // Redis down (restarts mode): no sample this time.
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.busy) await new Promise((r) => setTimeout(r, 20));
    await this.sample(true);
    this.redis.disconnect();
  }
}
