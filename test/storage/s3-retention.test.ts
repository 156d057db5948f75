/**
 * The job layer on an S3 bucket: the retention sweep (queue/retention.ts), /forget
 * (Producer.forget) and a job meeting a misconfigured store, against a real S3-protocol server (s3rver, 127.0.0.1) and the shared Redis
 * under a fresh key prefix. Objects cannot be aged on a server, so the sweep is given a `now`
 * that makes everything stored before a chosen moment old.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { S3ArtifactStore } from '../../core/storage/s3-store.ts';
import type { JobProcessor as ProcessorFn } from '../../queue/jobs/index.ts';
import { Producer } from '../../queue/producer.ts';
import { sweepFiles, sweptRefs } from '../../queue/retention.ts';
import type { JobSystemOptions } from '../../queue/system.ts';
import { JobWorker } from '../../queue/worker.ts';
import { cleanup, target, testOptions, until } from '../queue/helpers.ts';
import { TestS3Server } from './s3-server.ts';

const HOUR = 3_600_000;
const server = new TestS3Server();
beforeAll(() => server.start());
afterAll(() => server.stop());

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

function setup(over: Partial<Parameters<typeof server.settings>[1]> = {}): {
  p: Producer;
  store: S3ArtifactStore;
} {
  opts = testOptions({
    requireWorker: false,
    attempts: 1,
    artifactsS3: server.settings(`r${randomUUID().slice(0, 8)}/`, over),
  });
  producer = new Producer(opts);
  // The options choose the store: no local folder is involved.
  expect(producer.artifacts).toBeInstanceOf(S3ArtifactStore);
  return { p: producer, store: producer.artifacts as S3ArtifactStore };
}

async function keysOf(store: S3ArtifactStore, user: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await store.client.listObjects({ prefix: `${store.settings.prefix}${user}/`, token });
    out.push(...page.objects.map((o) => o.key.slice(store.settings.prefix.length)));
    token = page.next;
  } while (token);
  return out.sort();
}

const leftover = (store: S3ArtifactStore, user: string) =>
  store.client.putObject(`${store.settings.prefix}${user}/.tmp-${randomUUID()}`, Buffer.from('partial'), {
    contentType: 'application/octet-stream',
  });

describe('retention and forget on an S3 artifact store', () => {
  it('the sweep deletes old unreferenced objects and leftovers, keeps referenced and touched ones', async () => {
    const { p, store } = setup();
    const ann = 'tg-301';
    const bob = 'tg-302';
    const put = async (user: string, tag: string) =>
      (await p.artifacts.put(user, Buffer.from(`${tag} ${Math.random()}`), { ext: 'png' })).ref;
    const oldUpload = await put(ann, 'upload');
    const waitingPhoto = await put(ann, 'waiting');
    const reused = await put(ann, 'reused');
    await put(bob, 'report'); // old, unreferenced: goes
    await leftover(store, ann);
    await p.enqueue(
      'analyze',
      { user: ann, target: target(ann), photo: waitingPhoto },
      { idempotencyKey: 'r-s1' },
    );
    // Objects keep whole seconds: past the next one, everything above is older than `reused`'s touch.
    await new Promise((r) => setTimeout(r, 1500));
    const touchedAt = Date.now();
    expect(await p.artifacts.touch(reused)).toBe(true);
    // One hour kept, measured from just after the touch minus half a second.
    const now = touchedAt - 500 + HOUR;
    const expected = { users: 2, files: 4, deleted: 2, keptReferenced: 1, keptYoung: 1, incomplete: 1 };
    const dry = await sweepFiles(p, { keepFilesHours: 1, now, dryRun: true });
    expect(dry).toMatchObject({ ...expected, incomplete: 0 });
    expect(await keysOf(store, ann)).toHaveLength(4);
    const real = await sweepFiles(p, { keepFilesHours: 1, now });
    expect(real).toMatchObject(expected);
    expect(real.bytesFreed).toBe(dry.bytesFreed);
    expect(await keysOf(store, ann)).toEqual([waitingPhoto, reused].sort());
    expect(await keysOf(store, bob)).toEqual([]);
    expect([...(await sweptRefs(p, ann, [oldUpload, reused]))]).toEqual([oldUpload]);
    // A second sweep finds nothing more to do.
    expect(await sweepFiles(p, { keepFilesHours: 1, now })).toMatchObject({ deleted: 0, incomplete: 0 });
  });

  it('forget leaves no object of the user, leftovers included, and every object of others', async () => {
    const { p, store } = setup();
    const ann = 'tg-311';
    const bob = 'dc-312';
    for (let i = 0; i < 4; i++) await p.artifacts.put(ann, Buffer.from(`ann ${i}`), { ext: 'jpg' });
    const photo = (await p.artifacts.put(ann, Buffer.from('in a job'), { ext: 'jpg' })).ref;
    await p.enqueue('analyze', { user: ann, target: target(ann), photo }, { idempotencyKey: 'r-f1' });
    await leftover(store, ann);
    const bobs = (await p.artifacts.put(bob, Buffer.from('bob'), { ext: 'jpg' })).ref;
    const receipt = await p.forget(ann);
    expect(receipt.removed.files).toBeGreaterThanOrEqual(5);
    expect(receipt.removed.jobs).toBe(1);
    expect(await keysOf(store, ann)).toEqual([]);
    expect(await p.artifacts.listUsers()).toEqual([bob]);
    expect(await keysOf(store, bob)).toEqual([bobs]);
  });

  it('a job that meets refused credentials fails for good, telling the user nothing of the setup', async () => {
    const { p } = setup({ secretAccessKey: 'not-the-secret' });
    const read: ProcessorFn = (async (ctx) => {
      await ctx.artifacts.read((ctx.data as { photo: string }).photo);
      return {};
    }) as ProcessorFn;
    worker = new JobWorker(opts, { queues: ['cpu'], processors: { analyze: { kind: 'inline', run: read } } });
    await worker.start();
    const photo = `tg-321/${'a'.repeat(64)}.jpg`;
    await p.enqueue(
      'analyze',
      { user: 'tg-321', target: target('tg-321'), photo },
      { idempotencyKey: 'r-c1' },
    );
    await until(async () => (await p.queue('cpu').getJobState('r-c1')) === 'failed');
    const reason = (await p.queue('cpu').getJob('r-c1'))?.failedReason ?? '';
    expect(reason).toMatch(/artifact_store_credentials/);
    expect(reason).toMatch(/not working on the server right now/);
    expect(reason).not.toMatch(/AWS_|facechain-test|127\.0\.0\.1/);
  });
});
