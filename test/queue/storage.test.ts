import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../base/errors.ts';
import { LocalArtifactStore } from '../../core/storage/artifacts.ts';
import { jobIdFor, userIdFor } from '../../queue/ids.ts';
import { findUnsafe } from '../../queue/payload-guard.ts';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('artifact store (local folder)', () => {
  it('is content-addressed per user and streams in and out', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fc-store-'));
    const store = new LocalArtifactStore(dir);
    const bytes = Buffer.alloc(3 * 1024 * 1024, 7);
    const a = await store.put('tg-1', Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]), {
      ext: 'bin',
    });
    expect(a.ref).toBe(`tg-1/${createHash('sha256').update(bytes).digest('hex')}.bin`);
    expect(a.size).toBe(bytes.length);
    const again = await store.put('tg-1', bytes, { ext: 'bin' });
    expect(again.ref).toBe(a.ref);
    const chunks: Buffer[] = [];
    for await (const c of await store.open(a.ref)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
    await store.put('tg-2', bytes, { ext: 'bin' });
    expect((await store.listUser('tg-1')).map((x) => x.ref)).toEqual([a.ref]);
    expect(readdirSync(path.join(dir, 'tg-1')).some((n) => n.startsWith('.tmp'))).toBe(false);
    expect(await store.deleteUser('tg-1')).toBe(1);
    expect(await store.exists(a.ref)).toBe(false);
    expect(await store.listUser('tg-2')).toHaveLength(1);
    await expect(store.read(a.ref)).rejects.toThrow(/no longer exists/);
  });

  it('refuses refs and users that could escape the folder', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fc-store-'));
    const store = new LocalArtifactStore(dir);
    for (const ref of ['../etc/passwd', 'tg-1/../../x.bin', `tg-1/${'a'.repeat(64)}.b/n`, 'tg-1/abc.png'])
      await expect(store.read(ref)).rejects.toBeInstanceOf(InputError);
    await expect(store.put('../x', Buffer.from('a'), { ext: 'png' })).rejects.toThrow(/not a user id/);
    await expect(store.put('tg-1', Buffer.from('a'), { ext: '../png' })).rejects.toThrow(
      /not a file extension/,
    );
  });
});

describe('job ids and payload guard', () => {
  it('derives ids BullMQ accepts from platform update ids', () => {
    expect(jobIdFor('telegram', '123456')).toBe('tg-123456');
    expect(jobIdFor('discord', '1234:5678')).toBe('dc-1234_5678');
    expect(userIdFor('discord', '80351110224678912')).toBe('dc-80351110224678912');
    expect(() => userIdFor('telegram', '1:2')).toThrow(/not a valid user id/);
  });

  it('finds URLs, data URIs, token-like blobs, bytes and secret fields anywhere in a payload', () => {
    expect(findUnsafe({ a: [{ b: 'hello', n: 3 }] })).toBeUndefined();
    expect(findUnsafe({ a: ['x', 'https://example.org/x.jpg'] })).toMatch(/^data\.a\[1\]: URLs/);
    expect(findUnsafe({ p: 'file:///etc/passwd' })).toMatch(/URLs/);
    expect(findUnsafe({ p: 'see bot123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })).toMatch(/URLs/);
    expect(findUnsafe({ p: 'data:image/png;base64,iVBOR' })).toMatch(/data: URIs/);
    expect(findUnsafe({ p: 'Zm9v'.repeat(60) })).toMatch(/encoded bytes/);
    expect(findUnsafe({ p: new Uint8Array(4) })).toMatch(/bytes are not allowed/);
    expect(findUnsafe({ extra: { interactionToken: 'x' } })).toMatch(/secrets/);
    // A sha256 artifact ref is fine.
    expect(findUnsafe({ photo: `tg-1/${'ab'.repeat(32)}.jpg` })).toBeUndefined();
  });
});
