import { afterEach, describe, expect, it } from 'vitest';
import { Producer } from '../../queue/producer.ts';
import type { JobSystemOptions } from '../../queue/system.ts';
import { JobWorker } from '../../queue/worker.ts';
import { killChildren, startWorkerProcess } from './child-worker.ts';
import { gpuDouble } from './gpu-double.ts';
import { cleanup, target, testOptions, until } from './helpers.ts';
import { RecordingDeliverer } from './recording-deliverer.ts';

let opts: JobSystemOptions;
let producer: Producer | undefined;
const workers: JobWorker[] = [];

afterEach(async () => {
  killChildren();
  for (const w of workers.splice(0)) await w.close(500);
  await producer?.close();
  if (opts) await cleanup(opts);
});

describe('worker crash', () => {
  it('a SIGKILLed worker mid-job: another worker completes it within lock + stalled interval, one delivery', async () => {
    opts = testOptions({ lockDurationMs: 2000, stalledIntervalMs: 500 });
    producer = new Producer(opts);
    const a = startWorkerProcess(opts, 'gpu-sd15', 100, 20);
    await a.ready;
    await producer.enqueue(
      'generate',
      { user: 'tg-1', target: target(), mode: 'lora', identityId: 'me', style: 'film' },
      { idempotencyKey: 'tg-k1' },
    );
    await until(async () => ((await producer?.status('tg-k1'))?.percent ?? 0) >= 20, 20_000);
    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    // The other worker (this process) serves the same queue and the bot's deliver queue.
    const deliverer = new RecordingDeliverer();
    const b = new JobWorker(opts, {
      queues: ['gpu-sd15', 'deliver'],
      deliverers: { telegram: deliverer },
      processors: { generate: { kind: 'inline', run: gpuDouble(20, 100) } },
    });
    await b.start();
    workers.push(b);
    let stalled = 0;
    b.on('stalled', () => stalled++);
    let restartedAt = 0;
    await until(async () => {
      const s = await producer?.status('tg-k1');
      if (!restartedAt && s?.state === 'active' && (s.percent ?? 0) < 20) restartedAt = Date.now();
      return s?.state === 'completed';
    }, 20_000);
    await until(() => deliverer.deliveries.length === 1, 5000);
    await new Promise((r) => setTimeout(r, 500));
    const recoveryMs = (restartedAt || Date.now()) - killedAt;
    console.log(
      `crash recovery: picked up ${recoveryMs} ms after SIGKILL (lock 2000 + stalled interval 500)`,
    );
    expect(stalled).toBe(1);
    expect(recoveryMs).toBeLessThanOrEqual(2000 + 500 + 1500);
    expect(deliverer.count('tg-k1')).toBe(1);
  });
});

describe('stalled too often', () => {
  it('a job whose workers die twice is failed by BullMQ, and the user still gets one error reply', async () => {
    opts = testOptions({ lockDurationMs: 1500, stalledIntervalMs: 300 });
    producer = new Producer(opts);
    const a = startWorkerProcess(opts, 'gpu-sd15', 100, 50);
    await a.ready;
    await producer.enqueue(
      'generate',
      { user: 'tg-1', target: target(), mode: 'lora', identityId: 'me', style: 'film' },
      { idempotencyKey: 'tg-k2' },
    );
    await until(async () => ((await producer?.status('tg-k2'))?.percent ?? 0) >= 4, 20_000);
    a.child.kill('SIGKILL');
    // The second worker picks the job up after the lock expires, then dies too.
    const b = startWorkerProcess(opts, 'gpu-sd15', 100, 50);
    await b.ready;
    await until(async () => {
      const s = await producer?.status('tg-k2');
      return (
        s?.state === 'active' && (s.attempts ?? 0) === 0 && (s.percent ?? 100) < 4 && s.stage !== undefined
      );
    }, 20_000);
    await until(async () => ((await producer?.status('tg-k2'))?.percent ?? 0) >= 4, 20_000);
    b.child.kill('SIGKILL');
    // The bot process: serves deliver (and the GPU queue, whose stalled check fails the job).
    const deliverer = new RecordingDeliverer();
    const c = new JobWorker(opts, {
      queues: ['gpu-sd15', 'deliver'],
      deliverers: { telegram: deliverer },
      processors: { generate: { kind: 'inline', run: gpuDouble(50, 100) } },
    });
    await c.start();
    workers.push(c);
    await until(() => deliverer.deliveries.length === 1, 20_000);
    await new Promise((r) => setTimeout(r, 800));
    expect(deliverer.deliveries).toHaveLength(1);
    expect(deliverer.deliveries[0].reply.error?.code).toBe('stalled');
    expect((await producer.status('tg-k2'))?.state).toBe('failed');
  });
});

describe('SIGTERM', () => {
  it('a worker process stopped mid-job hands the job back within its deadline; another finishes it', async () => {
    opts = testOptions();
    producer = new Producer(opts);
    const a = startWorkerProcess(opts, 'gpu-sd15', 100, 200, 500); // a 20 s job, 0.5 s deadline
    await a.ready;
    await producer.enqueue(
      'generate',
      { user: 'tg-1', target: target(), mode: 'lora', identityId: 'me', style: 'film' },
      { idempotencyKey: 'tg-k3' },
    );
    await until(async () => ((await producer?.status('tg-k3'))?.percent ?? 0) >= 2, 20_000);
    const exited = new Promise<number | null>((r) => a.child.once('exit', (code) => r(code)));
    const t0 = Date.now();
    a.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const shutdownMs = Date.now() - t0;
    console.log(`SIGTERM mid-job: worker exited after ${shutdownMs} ms (deadline 500 ms)`);
    expect(shutdownMs).toBeLessThan(5000);
    const s = await producer.status('tg-k3');
    expect(s?.state).toBe('waiting'); // handed back, not failed and not left active
    expect(s?.attempts).toBe(0);
    const deliverer = new RecordingDeliverer();
    const b = new JobWorker(opts, {
      queues: ['gpu-sd15', 'deliver'],
      deliverers: { telegram: deliverer },
      processors: { generate: { kind: 'inline', run: gpuDouble(3, 10) } },
    });
    await b.start();
    workers.push(b);
    await until(() => deliverer.deliveries.length === 1, 10_000);
    expect((await producer.status('tg-k3'))?.state).toBe('completed');
  });
});
