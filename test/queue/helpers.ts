/** Test helpers: a fresh key prefix and artifacts folder per test, and cleanup of only those keys. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { JobSystemOptions } from '../../queue/system.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The environment for running `bin/facechain.js` against a test's queue prefix and folder. */
export function cliEnv(opts: JobSystemOptions): NodeJS.ProcessEnv {
  return {
    ...process.env,
    REDIS_URL,
    FACECHAIN_QUEUE_PREFIX: opts.prefix,
    FACECHAIN_ARTIFACTS_DIR: opts.artifactsDir,
    FACECHAIN_LOG_LEVEL: 'error',
  };
}

export function testOptions(over: Partial<JobSystemOptions> = {}): JobSystemOptions {
  return {
    redisUrl: REDIS_URL,
    prefix: `t${randomUUID().slice(0, 8)}`,
    artifactsDir: over.artifactsDir ?? mkdtempSync(path.join(os.tmpdir(), 'fc-art-')),
    limits: { maxPending: 100, maxRunning: 10, dailyQuota: 1000 },
    attempts: 3,
    backoffMs: 50,
    keepCompletedSeconds: 3600,
    keepFailedSeconds: 3600,
    lockDurationMs: 30_000,
    stalledIntervalMs: 30_000,
    forgetWaitMs: 10_000,
    ...over,
  };
}

/** Every key under the test's prefix. */
export async function prefixKeys(url: string, prefix: string): Promise<string[]> {
  const r = new Redis(url);
  const out: string[] = [];
  for await (const batch of r.scanStream({ match: `${prefix}:*`, count: 1000 }))
    out.push(...(batch as string[]));
  r.disconnect();
  return out;
}

/** Delete the test's own keys and folder (never anything else). */
export async function cleanup(opts: JobSystemOptions): Promise<void> {
  const keys = await prefixKeys(opts.redisUrl, opts.prefix);
  const r = new Redis(opts.redisUrl);
  for (let i = 0; i < keys.length; i += 500) await r.del(...keys.slice(i, i + 500));
  r.disconnect();
  rmSync(opts.artifactsDir, { recursive: true, force: true });
}

export const target = (user = 'tg-1') => ({
  platform: 'telegram' as const,
  chatId: user.slice(3),
  userId: user.slice(3),
});

export async function until(cond: () => Promise<boolean> | boolean, ms = 10_000, every = 25): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, every));
  }
}
