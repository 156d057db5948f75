import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureRedis, findRedis, freePort, ping, startRedisServer } from '../../queue/redis-embedded.ts';
import { REDIS_URL } from './helpers.ts';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('embedded redis', () => {
  it('starts a private redis-server with AOF when nothing answers, and stops it', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fc-embedded-'));
    const nobody = `redis://127.0.0.1:${await freePort()}`;
    const h = await ensureRedis({ dataDir: dir, localUrl: nobody });
    try {
      expect(h.embedded).toBe(true);
      expect(await ping(h.url)).toBe(true);
      // Other commands on this machine find it through the data folder.
      expect(readFileSync(path.join(dir, 'redis', 'url'), 'utf8').trim()).toBe(h.url);
      expect(await findRedis({ dataDir: dir, localUrl: nobody })).toBe(h.url);
    } finally {
      await h.stop();
    }
    expect(await ping(h.url)).toBe(false);
    expect(existsSync(path.join(dir, 'redis', 'appendonlydir'))).toBe(true);
    expect(existsSync(path.join(dir, 'redis', 'url'))).toBe(false);
    await expect(findRedis({ dataDir: dir, localUrl: nobody })).rejects.toThrow(/No Redis answers/);
  });

  it('uses REDIS_URL or the local Redis when they answer, starting nothing', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fc-embedded-'));
    const given = await ensureRedis({ dataDir: dir, redisUrl: 'redis://example.invalid:6379' });
    expect(given).toMatchObject({ url: 'redis://example.invalid:6379', embedded: false });
    // The run's Redis (test/global-setup.ts): 127.0.0.1:6379, or a private server it started.
    const local = await ensureRedis({ dataDir: dir, localUrl: REDIS_URL });
    expect(local.embedded).toBe(false);
    expect(existsSync(path.join(dir, 'redis'))).toBe(false);
  });

  it('says how to install Redis when there is no redis-server', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fc-embedded-'));
    const err = await startRedisServer({ dir, binary: 'redis-server-that-does-not-exist' }).catch((e) => e);
    expect(err.code).toBe('redis_missing');
    expect(err.message).toMatch(/apt-get install redis-server/);
    expect(err.message).toMatch(/REDIS_URL/);
  });
});
