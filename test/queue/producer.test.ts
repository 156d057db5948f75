import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../base/errors.ts';
import { jobIdFor } from '../../queue/ids.ts';
import { Producer } from '../../queue/producer.ts';
import type { JobSystemOptions } from '../../queue/system.ts';
import { cleanup, prefixKeys, target, testOptions } from './helpers.ts';

let opts: JobSystemOptions;
let producer: Producer;

async function setup(over: Partial<JobSystemOptions> = {}) {
  opts = testOptions({ requireWorker: false, ...over });
  producer = new Producer(opts);
  const photo = (await producer.artifacts.put('tg-1', new Uint8Array([1, 2, 3]), { ext: 'jpg' })).ref;
  return photo;
}

afterEach(async () => {
  await producer?.close();
  if (opts) await cleanup(opts);
});

describe('producer', () => {
  it('enqueues a typed job and reports it waiting with a queue position', async () => {
    const photo = await setup();
    const a = await producer.enqueue(
      'analyze',
      { user: 'tg-1', target: target(), photo },
      { idempotencyKey: 'tg-100' },
    );
    const b = await producer.enqueue(
      'analyze',
      { user: 'tg-1', target: target(), photo },
      { idempotencyKey: 'tg-101' },
    );
    expect(a).toEqual({ id: 'tg-100', queue: 'cpu', duplicate: false });
    const sa = await producer.status(a.id);
    const sb = await producer.status(b.id);
    expect(sa?.state).toBe('waiting');
    expect(sa?.position).toBe(1);
    expect(sb?.position).toBe(2);
    expect(sa?.user).toBe('tg-1');
  });

  it('the same update id five times makes one job', async () => {
    const photo = await setup();
    const id = jobIdFor('telegram', '777');
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        producer.enqueue('analyze', { user: 'tg-1', target: target(), photo }, { idempotencyKey: id }),
      ),
    );
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(await producer.queue('cpu').getJobCounts('waiting')).toEqual({ waiting: 1 });
    expect(await producer.limits.quotaUsed('tg-1')).toBe(1);
  });

  it('refuses bad payloads with the field at fault', async () => {
    const photo = await setup();
    const cases: Array<[string, unknown, string]> = [
      ['analyze', { user: 'tg-1', target: target(), photo: 'nope' }, 'data.photo'],
      [
        'analyze',
        { user: 'tg-1', target: target(), photo, note: 'https://api.telegram.org/file/bot123:abc/x.jpg' },
        'URLs',
      ],
      [
        'analyze',
        { user: 'tg-1', target: target(), photo: `data:image/png;base64,${'A'.repeat(300)}` },
        'data: URIs',
      ],
      ['analyze', { user: 'tg-1', target: target(), photo, blob: 'QUJD'.repeat(100) }, 'encoded bytes'],
      ['analyze', { user: 'tg-1', target: { ...target(), extra: { token: 'x' } }, photo }, 'secrets'],
      ['nope', {}, 'There is no job'],
    ];
    for (const [name, data, msg] of cases) {
      const err = await producer
        // biome-ignore lint/suspicious/noExplicitAny: deliberately wrong input
        .enqueue(name as any, data as any, { idempotencyKey: 'tg-5' })
        .catch((e) => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.message).toContain(msg);
    }
    expect(await producer.queue('cpu').count()).toBe(0);
  });

  it('enforces the pending cap and the daily quota before enqueueing', async () => {
    const photo = await setup({ limits: { maxPending: 2, maxRunning: 1, dailyQuota: 3 } });
    const add = (n: number) =>
      producer.enqueue('analyze', { user: 'tg-1', target: target(), photo }, { idempotencyKey: `tg-${n}x` });
    await add(1);
    await add(2);
    const err = await add(3).catch((e) => e);
    expect(err.code).toBe('too_many_pending');
    expect(err.message).toMatch(/2 request/);
    // Finishing (here: cancelling) one frees a slot; the quota then stops the fourth.
    expect(await producer.cancel('tg-1x', 'tg-1')).toBe(true);
    await add(3);
    expect(await producer.cancel('tg-2x', 'tg-1')).toBe(true);
    const q = await add(4).catch((e) => e);
    expect(q.code).toBe('daily_quota');
    expect(await producer.limits.quotaUsed('tg-1')).toBe(3);
  });

  it('refuses a job no worker runs with "not available"', async () => {
    const photo = await setup();
    const strict = new Producer({ ...opts, requireWorker: true });
    const err = await strict
      .enqueue('analyze', { user: 'tg-1', target: target(), photo }, { idempotencyKey: 'tg-na' })
      .catch((e) => e);
    expect(await strict.available('analyze')).toBe(false);
    await strict.close();
    expect(err.code).toBe('not_available');
    expect(err.message).toMatch(/Photo analysis is not available on this deployment/);
    expect(await producer.limits.quotaUsed('tg-1')).toBe(0);
  });

  it('estimates the wait from recent durations of the same job', async () => {
    const photo = await setup();
    // What workers record after each completed job (last 50 durations, ms).
    await producer.redis.lpush(`${opts.prefix}:stats:dur:analyze`, 1000, 3000);
    for (const n of [1, 2, 3])
      await producer.enqueue(
        'analyze',
        { user: 'tg-1', target: target(), photo },
        { idempotencyKey: `tg-e${n}` },
      );
    const third = await producer.status('tg-e3');
    expect(third?.position).toBe(3);
    // No worker connected counts as one: ceil(3 / 1) x mean 2 s.
    expect(third?.etaSeconds).toBe(6);
  });

  it('puts zero-shot generation ahead of LoRA training', async () => {
    const photo = await setup();
    const t = target();
    await producer.enqueue(
      'train-lora',
      { user: 'tg-1', target: t, identityId: 'me' },
      { idempotencyKey: 'tg-a1' },
    );
    await producer.enqueue(
      'generate',
      { user: 'tg-1', target: t, mode: 'zero-shot', photo, style: 'film' },
      { idempotencyKey: 'tg-a2' },
    );
    expect((await producer.status('tg-a2'))?.position).toBe(1);
    expect((await producer.status('tg-a1'))?.position).toBe(2);
  });

  it("cancels a waiting job and refuses to cancel another user's job", async () => {
    const photo = await setup();
    await producer.enqueue('analyze', { user: 'tg-1', target: target(), photo }, { idempotencyKey: 'tg-9' });
    await expect(producer.cancel('tg-9', 'tg-2')).rejects.toThrow(/no job/);
    expect(await producer.cancel('tg-9', 'tg-1')).toBe(true);
    expect(await producer.status('tg-9')).toBeUndefined();
    expect(await producer.limits.pending('tg-1')).toEqual([]);
  });

  it('forget removes waiting jobs, records and files, and is idempotent', async () => {
    const photo = await setup();
    await producer.enqueue('analyze', { user: 'tg-1', target: target(), photo }, { idempotencyKey: 'tg-20' });
    await producer.records.setProfile('tg-1', { locale: 'en', consentVersion: '1', consentAt: Date.now() });
    const other = await producer.artifacts.put('tg-2', new Uint8Array([9]), { ext: 'png' });
    const r1 = await producer.forget('tg-1');
    expect(r1.removed.jobs).toBe(1);
    expect(r1.removed.files).toBe(1);
    expect(r1.removed.records).toBeGreaterThanOrEqual(3);
    expect(r1.stillRunning).toBe(0);
    const left = await prefixKeys(opts.redisUrl, opts.prefix);
    expect(left.filter((k) => k.includes('tg-1') || k.includes('tg-20'))).toEqual([]);
    expect(await producer.artifacts.listUser('tg-1')).toEqual([]);
    expect(await producer.artifacts.exists(other.ref)).toBe(true);
    const r2 = await producer.forget('tg-1');
    expect(r2.removed).toEqual({ jobs: 0, files: 0, records: 0, events: 0 });
  });
});
