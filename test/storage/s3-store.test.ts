/**
 * What only the S3 store has to show, on a real S3-protocol server (s3rver in a child process
 * on 127.0.0.1): a 100 MB stream in and out with bounded memory, the server dying mid-upload,
 * how failures are reported, prefixes kept apart, and worker threads using the same bucket.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ServiceError } from '../../base/errors.ts';
import { translate } from '../../base/i18n/index.ts';
import { userErrorText } from '../../base/i18n/user-error.ts';
import type { S3Settings } from '../../core/storage/s3-settings.ts';
import { S3ArtifactStore } from '../../core/storage/s3-store.ts';
import { ThreadPool } from '../../queue/thread-pool.ts';
import { TestS3Server } from './s3-server.ts';

const MB = 1024 * 1024;
const server = new TestS3Server();
beforeAll(() => server.start());
afterAll(() => server.stop());

const fresh = (over: Partial<S3Settings> = {}) => server.settings(`s${randomUUID().slice(0, 8)}/`, over);

/** Every key under a prefix (hidden leftovers included). */
async function keys(store: S3ArtifactStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await store.client.listObjects({ prefix, token });
    out.push(...page.objects.map((o) => o.key));
    token = page.next;
  } while (token);
  return out;
}

/**
 * `total` pseudo-random bytes in 1 MiB chunks, made as they are read (so the test itself holds
 * none of them), hashed on the way; `at(bytes)` runs (awaited) before the chunk at that offset.
 */
function source(total: number, at?: (offset: number) => Promise<void>) {
  const hash = createHash('sha256');
  let seed = 7;
  async function* gen() {
    for (let off = 0; off < total; off += MB) {
      await at?.(off);
      const c = Buffer.allocUnsafe(Math.min(MB, total - off));
      for (let i = 0; i + 4 <= c.length; i += 4) {
        seed = (seed * 1664525 + 1013904223) >>> 0;
        c.writeUInt32LE(seed, i);
      }
      hash.update(c);
      yield c;
    }
  }
  // A small read-ahead, like a file or a socket, so what is measured is the store's own buffering.
  return { stream: Readable.from(gen(), { highWaterMark: 1 }), digest: () => hash.digest('hex') };
}

/** Live (after a full GC) Buffer memory, sampled while `fn` runs: the peak above the start. */
async function peakBufferMemory<T>(fn: () => Promise<T>): Promise<{ result: T; peak: number }> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  gc();
  const base = process.memoryUsage().arrayBuffers;
  let peak = 0;
  const timer = setInterval(() => {
    // Twice: the second collection finishes freeing what the first found dead (V8 frees
    // Buffer memory on a background sweeper, counted until it is done).
    gc();
    gc();
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
  }, 100);
  try {
    return { result: await fn(), peak };
  } finally {
    clearInterval(timer);
  }
}

describe('S3 artifact store on a real S3-protocol server', () => {
  it('streams a 100 MB object up in parts and down again without holding it in memory', async () => {
    const store = new S3ArtifactStore(fresh());
    const src = source(100 * MB);
    const up = await peakBufferMemory(() => store.put('tg-1', src.stream, { ext: 'bin' }));
    expect(up.result).toEqual({ ref: `tg-1/${src.digest()}.bin`, size: 100 * MB });
    const hash = createHash('sha256');
    let size = 0;
    const down = await peakBufferMemory(async () => {
      for await (const c of await store.open(up.result.ref)) {
        hash.update(c as Buffer);
        size += (c as Buffer).length;
      }
    });
    expect(size).toBe(100 * MB);
    expect(hash.digest('hex')).toBe(up.result.ref.slice(5, 69));
    // Parts of 5 MiB, two uploading: measured 41 MB (part size × (3 × 2 + 2)), whatever the
    // object's size; holding the object would be over 100 MB.
    expect(up.peak).toBeLessThan(60 * MB);
    expect(down.peak).toBeLessThan(40 * MB);
    // Only the object: the temp upload was copied to its name and deleted.
    expect(await keys(store, store.settings.prefix)).toEqual([store.settings.prefix + up.result.ref]);
  });

  it('retries through a server restart in the middle of an upload; nothing half-written stays', async () => {
    const store = new S3ArtifactStore(fresh(), { retries: 6, retryBaseMs: 200 });
    let restarted: Promise<void> | undefined;
    const src = source(24 * MB, async (off) => {
      if (off !== 12 * MB) return;
      await server.kill(); // parts 1-2 are up or on their way; the rest meets a dead server
      restarted = new Promise((r) => setTimeout(r, 700)).then(() => server.start());
    });
    const put = await store.put('tg-2', src.stream, { ext: 'bin' });
    await restarted;
    expect(put.ref).toBe(`tg-2/${src.digest()}.bin`);
    expect(
      createHash('sha256')
        .update(await store.read(put.ref))
        .digest('hex'),
    ).toBe(put.ref.slice(5, 69));
    expect(await keys(store, `${store.settings.prefix}tg-2/`)).toEqual([store.settings.prefix + put.ref]);
  });

  it('fails cleanly (retryable) when the server stays down, and leaves nothing visible', async () => {
    const store = new S3ArtifactStore(fresh(), { retries: 2, retryBaseMs: 50 });
    const src = source(24 * MB, async (off) => {
      if (off === 12 * MB) await server.kill(); // the upload has begun: parts meet a dead server
    });
    const err = await store.put('tg-3', src.stream, { ext: 'bin' }).catch((e: unknown) => e);
    await server.start();
    expect(err).toBeInstanceOf(ServiceError);
    expect((err as ServiceError).retryable).toBe(true);
    expect((err as ServiceError).code).toBe('artifact_store_unreachable');
    expect(await store.listUser('tg-3')).toEqual([]);
    expect(await keys(store, `${store.settings.prefix}tg-3/`)).toEqual([]);
    // The job's retry stores it.
    const again = source(16 * MB);
    expect((await store.put('tg-3', again.stream, { ext: 'bin' })).ref).toBe(`tg-3/${again.digest()}.bin`);
  });

  it('reports an unreachable server as retryable, refused credentials and a missing bucket as configuration', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    const off = new S3ArtifactStore(fresh({ endpoint: `http://127.0.0.1:${closed}` }), {
      retries: 1,
      retryBaseMs: 10,
    });
    const e1 = await off.read(`tg-1/${'a'.repeat(64)}.png`).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(ServiceError);
    expect(e1).toMatchObject({ code: 'artifact_store_unreachable', retryable: true });
    // The message can reach a chat: no address in it; the logs get the reason.
    expect((e1 as Error).message).toMatch(/file store is busy or unreachable/);
    expect((e1 as Error).message).not.toContain('127.0.0.1');
    expect((e1 as ServiceError).context).toMatchObject({ op: 'GetObject', reason: 'ECONNREFUSED' });
    expect(userErrorText(e1 as ServiceError, 'zh-CN')).toBe(
      translate('zh-CN', 'error.service_unavailable', {}),
    );

    const badSecret = new S3ArtifactStore(fresh({ secretAccessKey: 'wrong-secret' }));
    const e2 = await badSecret.put('tg-1', Buffer.from('x'), { ext: 'png' }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(ConfigError);
    expect(e2).toMatchObject({ code: 'artifact_store_credentials', retryable: false });
    expect((e2 as Error).message).toMatch(/SignatureDoesNotMatch.*AWS_SECRET_ACCESS_KEY/);
    expect((e2 as Error).message).not.toContain('wrong-secret');

    // The start-up check says the same before any request.
    await expect(badSecret.check()).rejects.toMatchObject({ code: 'artifact_store_credentials' });
    await expect(off.check()).rejects.toMatchObject({ code: 'artifact_store_unreachable' });
    await expect(new S3ArtifactStore(fresh()).check()).resolves.toBeUndefined();

    const badKey = new S3ArtifactStore(fresh({ accessKeyId: 'NOBODY' }));
    await expect(badKey.listUsers()).rejects.toMatchObject({ code: 'artifact_store_credentials' });
    await expect(badKey.listUsers()).rejects.toThrow(/InvalidAccessKeyId.*AWS_ACCESS_KEY_ID/);

    const noBucket = new S3ArtifactStore(fresh({ bucket: 'no-such-bucket' }));
    await expect(noBucket.put('tg-1', Buffer.from('x'), { ext: 'png' })).rejects.toMatchObject({
      code: 'artifact_store_bucket',
    });
    await expect(noBucket.read(`tg-1/${'a'.repeat(64)}.png`)).rejects.toBeInstanceOf(ConfigError);
    await expect(noBucket.check()).rejects.toMatchObject({ code: 'artifact_store_bucket' });
    // Logged or printed, the store shows where it is, never its credentials.
    expect(JSON.stringify(badSecret)).not.toContain('wrong-secret');
    expect(JSON.stringify(badSecret)).toContain('facechain-test');
  });

  it('keeps deployments with different prefixes of one bucket apart', async () => {
    const a = new S3ArtifactStore(server.settings('shared/prod/'));
    const b = new S3ArtifactStore(server.settings('shared/staging/'));
    const ra = await a.put('tg-1', Buffer.from('prod'), { ext: 'png' });
    const rb = await b.put('tg-1', Buffer.from('staging'), { ext: 'png' });
    await b.put('tg-2', Buffer.from('staging 2'), { ext: 'png' });
    expect(await a.listUsers()).toEqual(['tg-1']);
    expect(await b.listUsers()).toEqual(['tg-1', 'tg-2']);
    expect(await a.exists(rb.ref)).toBe(false);
    expect(await b.deleteUser('tg-1')).toBe(1);
    expect(await a.exists(ra.ref)).toBe(true);
    expect(await a.deleteUser('tg-1')).toBe(1);
    expect(await b.deleteUser('tg-2')).toBe(1);
  });

  it('worker threads open the same bucket as the process that started them', async () => {
    const settings = fresh();
    const store = new S3ArtifactStore(settings);
    const { ref } = await store.put('tg-4', Buffer.from('abc'), { ext: 'bin' });
    const pool = new ThreadPool(1, { dir: '/nonexistent-artifacts-dir', s3: settings });
    try {
      const out = (await pool.run(
        new URL('./thread-tasks.ts', import.meta.url).href,
        'reverseCopy',
        {
          jobId: 'j1',
          requestId: 'j1',
          name: 'analyze',
          data: { ref, user: 'tg-4' },
          attempt: 1,
          previous: {},
        } as never,
        new AbortController().signal,
        () => {},
      )) as { read: number; stored: string };
      expect(out.read).toBe(3);
      expect((await store.read(out.stored)).toString()).toBe('cba');
    } finally {
      await pool.close();
    }
  });
});
