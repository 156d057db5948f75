import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceError } from '../../base/errors.ts';
import { Producer } from '../../queue/producer.ts';
import { startRedisServer } from '../../queue/redis-embedded.ts';
import { JobWorker } from '../../queue/worker.ts';
import { gpuDouble } from './gpu-double.ts';
import { target, testOptions, until } from './helpers.ts';
import { RecordingDeliverer } from './recording-deliverer.ts';

// A PRIVATE redis-server on its own port and folder: the shared one is never restarted.
let dir = '';
let server: Awaited<ReturnType<typeof startRedisServer>> | undefined;
const producers: Producer[] = [];
let worker: JobWorker | undefined;

afterEach(async () => {
  await worker?.close(500);
  for (const p of producers.splice(0)) await p.close().catch(() => {});
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('redis restart', () => {
  it('1,000 jobs from 20 producers survive a kill -9 of Redis (AOF): none lost, none delivered twice', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fc-redis-'));
    server = await startRedisServer({ dir, appendfsync: 'always' });
    const port = server.port;
    const opts = testOptions({
      redisUrl: server.url,
      artifactsDir: path.join(dir, 'artifacts'),
      limits: { maxPending: 1000, maxRunning: 100, dailyQuota: 10_000 },
      lockDurationMs: 5000,
      stalledIntervalMs: 1000,
    });
    const deliverer = new RecordingDeliverer();
    worker = new JobWorker(opts, {
      queues: ['gpu-sd15', 'deliver'],
      concurrency: 16,
      deliverers: { telegram: deliverer },
      processors: { generate: { kind: 'inline', run: gpuDouble(2, 5) } },
    });
    await worker.start();
    let added = 0;
    let retries = 0;
    const ids: string[] = [];
    const producerRun = async (p: number) => {
      const producer = new Producer(opts);
      producers.push(producer);
      const user = `tg-${p}`;
      for (let i = 0; i < 50; i++) {
        const id = `tg-r${p}x${i}`;
        ids.push(id);
        for (;;) {
          try {
            await producer.enqueue(
              'generate',
              { user, target: target(user), mode: 'lora', identityId: 'me', style: 'film' },
              { idempotencyKey: id },
            );
            added++;
            break;
          } catch (e) {
            if (!(e instanceof ServiceError)) throw e;
            retries++; // what a chat front-end does: Telegram re-sends the update
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      }
    };
    const running = Promise.all(Array.from({ length: 20 }, (_, p) => producerRun(p)));
    await until(() => added >= 300, 30_000, 5);
    server.process.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    server = await startRedisServer({ dir, port, appendfsync: 'always' });
    await running;
    expect(added).toBe(1000);
    const check = producers[0];
    const states = new Map<string, string>();
    await until(
      async () => {
        for (const id of ids) {
          if (states.get(id) === 'completed' || states.get(id) === 'failed') continue;
          states.set(id, (await check.status(id))?.state ?? 'missing');
        }
        return [...states.values()].every((s) => s === 'completed' || s === 'failed');
      },
      90_000,
      500,
    );
    // A delivery that was running when Redis died is retried after its lock expires (5 s).
    const delivered = () => new Set(deliverer.deliveries.map((d) => d.requestId)).size;
    await until(() => delivered() === 1000, 30_000, 200).catch(() => {});
    await new Promise((r) => setTimeout(r, 1500));
    const completed = [...states.values()].filter((s) => s === 'completed').length;
    const perRequest = new Map<string, number>();
    for (const d of deliverer.deliveries) perRequest.set(d.requestId, (perRequest.get(d.requestId) ?? 0) + 1);
    const twice = [...perRequest.values()].filter((n) => n > 1).length;
    console.log(
      `redis restart: ${completed} completed, ${1000 - completed} failed, ${perRequest.size} delivered, ` +
        `${twice} delivered twice, ${retries} producer retries during the outage`,
    );
    expect(states.size).toBe(1000);
    expect(twice).toBe(0);
    expect(perRequest.size).toBe(1000);
  });
});
