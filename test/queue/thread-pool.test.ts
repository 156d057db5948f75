import { afterEach, describe, expect, it } from 'vitest';
import { CancelledError, ServiceError } from '../../base/errors.ts';
import { ThreadPool } from '../../queue/thread-pool.ts';

const MOD = new URL('./thread-tasks.ts', import.meta.url).href;
let pool: ThreadPool | undefined;
afterEach(async () => {
  await pool?.close();
});

const ctx = (data: unknown) =>
  ({ jobId: 'j1', requestId: 'j1', name: 'analyze' as const, data, attempt: 1, previous: {} }) as never;

describe('thread pool', () => {
  it('runs a TypeScript processor in a thread, with progress, while the main loop stays free', async () => {
    pool = new ThreadPool(1, '/tmp');
    const progress: string[] = [];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const spun = pool.run(MOD, 'spin', ctx({ ms: 400 }), new AbortController().signal, () => {});
    const r = await pool.run(MOD, 'echo', ctx({ a: 1 }), new AbortController().signal, (s, p) =>
      progress.push(`${s}:${p}`),
    );
    await spun;
    clearInterval(timer);
    expect(r).toEqual({ jobId: 'j1', data: { a: 1 } });
    expect(progress).toEqual(['echo:50']);
    expect(ticks).toBeGreaterThan(20); // the main thread kept running timers during the 400 ms spin
  });

  it('replaces a thread whose task ignores cancellation, after the grace period', async () => {
    pool = new ThreadPool(1, '/tmp', 200);
    const ac = new AbortController();
    const running = pool.run(MOD, 'spin', ctx({ ms: 60_000 }), ac.signal, () => {});
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    ac.abort();
    await expect(running).rejects.toBeInstanceOf(CancelledError);
    expect(Date.now() - t0).toBeLessThan(2000);
    // The replacement thread works.
    expect(await pool.run(MOD, 'echo', ctx(1), new AbortController().signal, () => {})).toEqual({
      jobId: 'j1',
      data: 1,
    });
  });

  it('fails the task of a crashed thread as retryable and keeps serving', async () => {
    pool = new ThreadPool(1, '/tmp');
    const err = (await pool
      .run(MOD, 'crash', ctx({}), new AbortController().signal, () => {})
      .catch((e: unknown) => e)) as ServiceError;
    expect(err).toBeInstanceOf(ServiceError);
    expect(err.retryable).toBe(true);
    expect(await pool.run(MOD, 'echo', ctx(2), new AbortController().signal, () => {})).toEqual({
      jobId: 'j1',
      data: 2,
    });
  });
});
