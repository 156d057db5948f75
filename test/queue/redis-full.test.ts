import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceError } from '../../base/errors.ts';
import { Producer } from '../../queue/producer.ts';
import { startRedisServer } from '../../queue/redis-embedded.ts';
import { target, testOptions } from './helpers.ts';

let dir = '';
let server: Awaited<ReturnType<typeof startRedisServer>> | undefined;
let producer: Producer | undefined;

afterEach(async () => {
  await producer?.close().catch(() => {});
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('redis full (maxmemory, noeviction)', () => {
  it('refuses new jobs quickly with "busy, try again" and loses none it accepted', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fc-redis-full-'));
    server = await startRedisServer({ dir, extraArgs: ['--maxmemory', '3mb'] });
    const opts = testOptions({
      redisUrl: server.url,
      requireWorker: false,
      artifactsDir: path.join(dir, 'artifacts'),
    });
    opts.limits = { maxPending: 1_000_000, maxRunning: 10, dailyQuota: 1_000_000 };
    producer = new Producer(opts);
    const photo = `tg-1/${'ab'.repeat(32)}.jpg`;
    const accepted: string[] = [];
    let refusal: ServiceError | undefined;
    let refusalMs = 0;
    for (let i = 0; i < 100_000 && !refusal; i++) {
      const t0 = performance.now();
      try {
        const r = await producer.enqueue(
          'analyze',
          { user: 'tg-1', target: target(), photo },
          { idempotencyKey: `tg-f${i}` },
        );
        accepted.push(r.id);
      } catch (e) {
        refusal = e as ServiceError;
        refusalMs = performance.now() - t0;
      }
    }
    console.log(`redis full: ${accepted.length} jobs accepted, then refused in ${refusalMs.toFixed(1)} ms`);
    expect(refusal).toBeInstanceOf(ServiceError);
    expect(refusal?.code).toBe('queue_unavailable');
    expect(refusal?.message).toMatch(/busy or unreachable/);
    expect(refusalMs).toBeLessThan(1000);
    expect(accepted.length).toBeGreaterThan(100);
    // Every accepted job is still there.
    const counts = await producer.queue('cpu').getJobCounts('waiting');
    expect(counts.waiting).toBe(accepted.length);
  }, 120_000);
});
