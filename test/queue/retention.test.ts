/**
 * Retention sweep (queue/retention.ts): real Redis under a fresh prefix, a real temp artifact
 * folder, ages set with fs.utimes. Jobs are put in each unfinished state through the project's
 * producer (and BullMQ's own delay option for a delayed job), a worker holds one active.
 */
import { execFile } from 'node:child_process';
import { utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { deliveryPayload, enqueueDelivery } from '../../queue/delivery/entry.ts';
import { Producer } from '../../queue/producer.ts';
import { groupKey } from '../../queue/records.ts';
import { RetentionSweeper, sweepFiles, sweptRefs } from '../../queue/retention.ts';
import type { JobSystemOptions } from '../../queue/system.ts';
import { JobWorker } from '../../queue/worker.ts';
import { gpuDouble } from './gpu-double.ts';
import { cleanup, cliEnv, target, testOptions, until } from './helpers.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let opts: JobSystemOptions;
let producer: Producer | undefined;
let worker: JobWorker | undefined;

afterEach(async () => {
  await worker?.close(500);
  worker = undefined;
  await producer?.close();
  producer = undefined;
  await cleanup(opts);
});

function setup(over: Partial<JobSystemOptions> = {}): Producer {
  opts = testOptions({ requireWorker: false, ...over });
  producer = new Producer(opts);
  return producer;
}

/** A distinct small file of a user, aged `ageMs` (mtime and atime). */
async function file(p: Producer, user: string, tag: string, ageMs: number, ext = 'png'): Promise<string> {
  const { ref } = await p.artifacts.put(user, Buffer.from(`${tag}-${Math.random()}`), { ext });
  await age(ref, ageMs);
  return ref;
}

async function age(ref: string, ageMs: number): Promise<void> {
  const t = new Date(Date.now() - ageMs);
  await utimes(path.join(opts.artifactsDir, ref), t, t);
}

const stored = async (p: Producer, user: string) =>
  (await p.artifacts.listUser(user)).map((f) => f.ref).sort();

describe('artifact store additions', () => {
  it('lists users and modification times; put of the same bytes and touch make a file young again', async () => {
    const p = setup();
    const bytes = Buffer.from('same bytes');
    const { ref } = await p.artifacts.put('tg-1', bytes, { ext: 'png' });
    await age(ref, 10 * DAY);
    const before = await p.artifacts.stat(ref);
    expect(Date.now() - (before?.modifiedAt ?? 0)).toBeGreaterThan(9 * DAY);
    expect((await p.artifacts.listUser('tg-1'))[0].modifiedAt).toBe(before?.modifiedAt);
    // The same content again: same ref, fresh modification time.
    expect((await p.artifacts.put('tg-1', bytes, { ext: 'png' })).ref).toBe(ref);
    expect(Date.now() - ((await p.artifacts.stat(ref))?.modifiedAt ?? 0)).toBeLessThan(60_000);
    await age(ref, 10 * DAY);
    expect(await p.artifacts.touch(ref)).toBe(true);
    expect(Date.now() - ((await p.artifacts.stat(ref))?.modifiedAt ?? 0)).toBeLessThan(60_000);
    expect(await p.artifacts.touch(`tg-1/${'0'.repeat(64)}.png`)).toBe(false);
    expect(await p.artifacts.stat(`tg-1/${'0'.repeat(64)}.png`)).toBeUndefined();
    await p.artifacts.put('dc-2', Buffer.from('x'), { ext: 'json' });
    expect(await p.artifacts.listUsers()).toEqual(['dc-2', 'tg-1']);
    // A temp file left by an interrupted put is removed once old, never while young.
    const tmp = path.join(opts.artifactsDir, 'tg-1', '.tmp-interrupted');
    await writeFile(tmp, 'partial');
    expect(await p.artifacts.deleteIncomplete('tg-1', Date.now() - HOUR)).toBe(0);
    const t = new Date(Date.now() - 2 * HOUR);
    await utimes(tmp, t, t);
    expect(await p.artifacts.deleteIncomplete('tg-1', Date.now() - HOUR)).toBe(1);
  });
});

describe('retention sweep', () => {
  it('deletes old unreferenced files, keeps young and referenced ones; dry run and a second sweep agree', async () => {
    const p = setup();
    const ann = 'tg-101';
    const bob = 'tg-102';
    const old = 8 * DAY;
    // Unreferenced: old ones go, a young one stays.
    const oldUpload = await file(p, ann, 'upload', old, 'jpg');
    const oldResult = await file(p, ann, 'result', old);
    const oldReport = await file(p, bob, 'report', old, 'json');
    const young = await file(p, ann, 'young', 2 * DAY);
    // Named by an identity record (crops, embedding, report, LoRA).
    const crop = await file(p, ann, 'crop', old);
    const emb = await file(p, ann, 'emb', old, 'json');
    const rep = await file(p, ann, 'rep', old, 'json');
    const lora = await file(p, ann, 'lora', old, 'lora');
    await p.records.putIdentity(ann, {
      id: 'me',
      status: 'trained',
      crops: [crop],
      embedding: emb,
      report: rep,
      lora,
      updatedAt: Date.now() - old,
    });
    // Named by a group record: Bob's template for a group photo.
    const template = await file(p, bob, 'template', old, 'jpg');
    await p.redis.hset(groupKey(opts.prefix, 'telegram', '-100'), 'template', template);
    // Named by unfinished jobs: waiting, prioritized, delayed, and a flow waiting for its child.
    const waitingPhoto = await file(p, bob, 'waiting', old, 'jpg');
    await p.enqueue(
      'analyze',
      { user: bob, target: target(bob), photo: waitingPhoto },
      { idempotencyKey: 'r-w1' },
    );
    const posePhoto = await file(p, ann, 'pose', old);
    await p.enqueue(
      'generate',
      { user: ann, target: target(ann), mode: 'lora', identityId: 'me', style: 'snow', pose: posePhoto },
      { idempotencyKey: 'r-p1' },
    );
    const delayedPhoto = await file(p, bob, 'delayed', old, 'jpg');
    await p
      .queue('cpu')
      .add(
        'analyze',
        { user: bob, target: target(bob), photo: delayedPhoto },
        { jobId: 'r-d1', delay: 3_600_000 },
      );
    const flowPhotos = [await file(p, bob, 'flow1', old, 'jpg'), await file(p, bob, 'flow2', old, 'jpg')];
    await p.enqueueFlow(
      [
        { name: 'prepare-identity', data: { identityId: 'new', photos: flowPhotos } },
        { name: 'train-lora', data: { identityId: 'new' } },
      ],
      { user: bob, target: target(bob) },
      { idempotencyKey: 'r-f1' },
    );
    // Named by a reply still waiting on the delivery stream.
    const pendingResult = await file(p, bob, 'pending', old);
    await enqueueDelivery(
      p.redis,
      opts.prefix,
      deliveryPayload({
        user: bob,
        target: target(bob),
        requestId: 'r-x1',
        source: { queue: 'gpu-sd15', id: 'r-x1', name: 'generate' },
        reply: { text: 'done', images: [pendingResult] },
      }),
    );
    expect(await p.queue('cpu').getJobState('r-d1')).toBe('delayed');
    expect(await p.queue('gpu-sd15').getJobState('r-p1')).toBe('prioritized');
    expect(await p.queue('gpu-sd15').getJobState('r-f1')).toBe('waiting-children');

    const kept = [
      young,
      crop,
      emb,
      rep,
      lora,
      template,
      waitingPhoto,
      posePhoto,
      delayedPhoto,
      ...flowPhotos,
      pendingResult,
    ];
    const all = [oldUpload, oldResult, oldReport, ...kept];
    const expected = {
      enabled: true,
      users: 2,
      files: all.length,
      deleted: 3,
      keptReferenced: kept.length - 1,
      keptYoung: 1,
      skippedUsers: 0,
    };

    // A sweep stopped by shutdown before it read the references deletes nothing.
    expect(await sweepFiles(p, { keepFilesHours: 168, signal: AbortSignal.abort() })).toMatchObject({
      aborted: true,
      deleted: 0,
    });
    const dry = await sweepFiles(p, { keepFilesHours: 168, dryRun: true });
    expect(dry).toMatchObject({ ...expected, dryRun: true });
    expect(dry.bytesFreed).toBeGreaterThan(0);
    expect([...(await stored(p, ann)), ...(await stored(p, bob))].sort()).toEqual([...all].sort());

    const real = await sweepFiles(p, { keepFilesHours: 168 });
    expect(real).toMatchObject({ ...expected, dryRun: false, bytesFreed: dry.bytesFreed });
    for (const r of [oldUpload, oldResult, oldReport]) expect(await p.artifacts.exists(r)).toBe(false);
    for (const r of kept) expect(await p.artifacts.exists(r)).toBe(true);
    // The sweep remembers what it deleted (hashes, under the user's keys) for the clear message.
    expect([...(await sweptRefs(p, ann, [oldUpload, oldResult, young]))].sort()).toEqual(
      [oldUpload, oldResult].sort(),
    );

    const again = await sweepFiles(p, { keepFilesHours: 168 });
    expect(again).toMatchObject({
      deleted: 0,
      bytesFreed: 0,
      files: kept.length,
      keptReferenced: kept.length - 1,
    });

    // 0 turns retention off: nothing is even looked at.
    expect(await sweepFiles(p, { keepFilesHours: 0 })).toMatchObject({
      enabled: false,
      deleted: 0,
      files: 0,
    });
    // Once the jobs are gone (cancelled) and the records too, their old files go.
    for (const id of ['r-w1', 'r-p1', 'r-f1']) await p.cancel(id, id === 'r-p1' ? ann : bob);
    await (await p.queue('cpu').getJob('r-d1'))?.remove();
    await p.records.deleteUserKeys(ann);
    await p.redis.del(groupKey(opts.prefix, 'telegram', '-100'));
    const after = await sweepFiles(p, { keepFilesHours: 168 });
    // Everything but the young file and the reply still waiting to be delivered.
    expect(after).toMatchObject({ deleted: kept.length - 2, keptReferenced: 1, keptYoung: 1 });
    expect(await stored(p, ann)).toEqual([young]);
    expect(await stored(p, bob)).toEqual([pendingResult]);
  });

  it('keeps what a running job reads', async () => {
    const p = setup();
    const user = 'tg-201';
    const pose = await file(p, user, 'pose', 30 * DAY);
    worker = new JobWorker(opts, {
      queues: ['gpu-sd15'],
      processors: { generate: { kind: 'inline', run: gpuDouble(40, 100) } },
      shutdownDeadlineMs: 200,
    });
    await worker.start();
    await p.enqueue(
      'generate',
      { user, target: target(user), mode: 'zero-shot', style: 'snow', pose },
      { idempotencyKey: 'r-a1' },
    );
    await until(async () => (await p.queue('gpu-sd15').getJobState('r-a1')) === 'active');
    const loose = await file(p, user, 'loose', 30 * DAY);
    const r = await sweepFiles(p, { keepFilesHours: 24 });
    expect(r).toMatchObject({ deleted: 1, keptReferenced: 1 });
    expect(await p.artifacts.exists(pose)).toBe(true);
    expect(await p.artifacts.exists(loose)).toBe(false);
    await p.cancel('r-a1', user);
  });

  it('sweeps running at once on several machines are harmless, and the periodic sweeper runs once per interval', async () => {
    const p = setup();
    const refs: string[] = [];
    for (let i = 0; i < 20; i++) refs.push(await file(p, `tg-3${i % 3}`, `f${i}`, 10 * DAY));
    const other = new Producer(opts);
    try {
      const [a, b] = await Promise.all([
        sweepFiles(p, { keepFilesHours: 48 }),
        sweepFiles(other, { keepFilesHours: 48 }),
      ]);
      expect(a.deleted + b.deleted).toBeGreaterThanOrEqual(20);
      for (const r of refs) expect(await p.artifacts.exists(r)).toBe(false);
      // Two processes' sweepers: the Redis key lets one of them sweep this interval.
      await file(p, 'tg-30', 'late', 10 * DAY);
      const s1 = new RetentionSweeper(p, { keepFilesHours: 48, intervalMinutes: 60 });
      const s2 = new RetentionSweeper(other, { keepFilesHours: 48, intervalMinutes: 60 });
      const [t1, t2] = await Promise.all([s1.tick(), s2.tick()]);
      expect([t1, t2].filter(Boolean)).toHaveLength(1);
      expect((t1 ?? t2)?.deleted).toBe(1);
      await s1.stop();
      await s2.stop();
    } finally {
      await other.close();
    }
  });
});

describe('facechain files sweep', () => {
  it('prints the counts; --dry-run deletes nothing', async () => {
    const p = setup();
    const ref = await file(p, 'cli-operator', 'cli', 9 * DAY);
    const env = cliEnv(opts);
    const run = (...args: string[]) =>
      promisify(execFile)(process.execPath, ['bin/facechain.js', 'files', 'sweep', ...args], { env });
    const dry = await run('--dry-run');
    expect(dry.stdout).toMatch(
      /users scanned 1, files 1: would delete 1 \(\d+ bytes\), kept because referenced 0/,
    );
    expect(await p.artifacts.exists(ref)).toBe(true);
    const real = await run();
    expect(real.stdout).toMatch(/deleted 1 \(\d+ bytes\)/);
    expect(real.stdout).not.toContain(ref.split('/')[1]);
    expect(await p.artifacts.exists(ref)).toBe(false);
    const off = await promisify(execFile)(process.execPath, ['bin/facechain.js', 'files', 'sweep'], {
      env: { ...env, FACECHAIN_KEEP_FILES_HOURS: '0' },
    });
    expect(off.stdout).toMatch(/Retention is off/);
  }, 60_000);
});
