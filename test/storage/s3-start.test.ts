/** A job-layer process on an S3 bucket checks the bucket at start (bot/app.ts runService). */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../base/errors.ts';
import { runService } from '../../bot/app.ts';
import { loadConfig } from '../../core/config.ts';
import { S3ArtifactStore } from '../../core/storage/s3-store.ts';
import { prefixKeys, REDIS_URL } from '../queue/helpers.ts';
import { TestS3Server } from './s3-server.ts';

const server = new TestS3Server();
beforeAll(() => server.start());
afterAll(() => server.stop());

const env = (over: Record<string, string>) => ({
  REDIS_URL,
  FACECHAIN_QUEUE_PREFIX: `t${randomUUID().slice(0, 8)}`,
  FACECHAIN_HEALTH_PORT: '0',
  FACECHAIN_KEEP_FILES_HOURS: '0',
  FACECHAIN_ARTIFACTS_URL: `s3://${server.bucket}/start-${randomUUID().slice(0, 8)}`,
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_ENDPOINT_URL_S3: server.endpoint,
  ...over,
});

describe('start-up on an S3 artifact store', () => {
  it('refuses to start with credentials the bucket refuses, saying which setting', async () => {
    const cfg = loadConfig(env({ AWS_SECRET_ACCESS_KEY: 'wrong' }));
    const e = await runService({ cfg, queues: ['cpu'], embeddedRedis: false }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toMatch(/SignatureDoesNotMatch.*AWS_SECRET_ACCESS_KEY/);
  });

  it('starts with good settings, and its producer and worker use the bucket', async () => {
    const cfg = loadConfig(env({}));
    const service = await runService({ cfg, queues: ['cpu'], embeddedRedis: false });
    try {
      expect(service.producer.artifacts).toBeInstanceOf(S3ArtifactStore);
      expect(service.worker.artifacts).toBeInstanceOf(S3ArtifactStore);
    } finally {
      await service.stop();
      // Only this test's keys.
      const keys = await prefixKeys(REDIS_URL, cfg.FACECHAIN_QUEUE_PREFIX);
      const r = new Redis(REDIS_URL);
      if (keys.length) await r.del(...keys);
      r.disconnect();
    }
  });
});
