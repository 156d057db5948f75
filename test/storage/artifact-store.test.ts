/**
 * The same ArtifactStore cases on both implementations: the local folder, and an S3 bucket on a
 * real S3-protocol server (s3rver in a child process on 127.0.0.1, checking SigV4 signatures).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { LocalArtifactStore } from '../../core/storage/artifacts.ts';
import { S3ArtifactStore } from '../../core/storage/s3-store.ts';
import { artifactStoreContract } from './contract.ts';
import { TestS3Server } from './s3-server.ts';

artifactStoreContract('local folder', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fc-store-'));
  return {
    store: new LocalArtifactStore(dir),
    partSize: 64 * 1024,
    leaveIncomplete: async (user) => writeFileSync(path.join(dir, user, `.tmp-${randomUUID()}`), 'partial'),
    rawNames: async (user) => {
      try {
        return readdirSync(path.join(dir, user));
      } catch {
        return [];
      }
    },
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

const server = new TestS3Server();
beforeAll(() => server.start());
afterAll(() => server.stop());

artifactStoreContract('S3 bucket', async () => {
  // A fresh prefix per case: cases share the server's bucket, never each other's objects.
  const settings = server.settings(`c${randomUUID().slice(0, 8)}/`);
  // Small listing pages, so every listing is paginated.
  const store = new S3ArtifactStore(settings, { pageSize: 2 });
  return {
    store,
    partSize: settings.partSize,
    leaveIncomplete: (user) =>
      store.client.putObject(`${settings.prefix}${user}/.tmp-${randomUUID()}`, Buffer.from('partial'), {
        contentType: 'application/octet-stream',
      }),
    rawNames: async (user) => {
      const names: string[] = [];
      let token: string | undefined;
      do {
        const page = await store.client.listObjects({ prefix: `${settings.prefix}${user}/`, token });
        names.push(...page.objects.map((o) => o.key));
        token = page.next;
      } while (token);
      return names;
    },
    close: async () => {},
  };
});
