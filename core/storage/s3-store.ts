/**
 * The artifact store on an S3-compatible bucket (AWS S3, MinIO, R2, Ceph, …), so workers on
 * several machines share files without a shared folder. Same refs and semantics as the local
 * store: object key = <prefix><user>/<sha256>.<ext>, one "folder" per user.
 *
 * A put of bytes goes straight to its final key (in parts when larger than one), and so does a
 * stream that fits in one part. A larger stream cannot: its name is its hash, known only at the
 * end. It goes up as a multipart upload to <user>/.tmp-<uuid> (a few parts in memory at a time,
 * never the whole object), is copied server-side onto its final key, and the temp object is
 * deleted. Nothing is visible under a
 * ref before all its bytes are stored; what an interrupted put leaves (an unfinished upload, a
 * temp object) is removed by deleteIncomplete (the retention sweep) and by deleteUser.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import { InputError } from '../../base/errors.ts';
import { log } from '../../base/log.ts';
import {
  ARTIFACT_REF_RE,
  type ArtifactInfo,
  type ArtifactRef,
  type ArtifactStore,
  artifactMissing,
  checkExt,
  checkUser,
  parseRef,
} from './artifacts.ts';
import { USER_ID_RE } from './ids.ts';
import { S3Client, type S3ClientOptions, storeFault } from './s3-client.ts';
import type { S3Settings } from './s3-settings.ts';

const logger = log('s3-store');

/** S3's limit for one server-side copy, and so for one artifact here (a LoRA is at most 4 GiB). */
export const MAX_ARTIFACT_BYTES = 5 * 1024 ** 3;

const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  json: 'application/json',
  mp4: 'video/mp4',
  webm: 'video/webm',
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
};
const contentType = (ext: string) => CONTENT_TYPES[ext] ?? 'application/octet-stream';

export interface S3StoreOptions extends S3ClientOptions {
  /** Parts uploading at once for a large stream (default 2): memory is about partSize × (this + 1). */
  concurrency?: number;
}

/** Buffers of exactly `size` bytes (the last one shorter) from a stream, read only as needed. */
async function* parts(source: Readable, size: number): AsyncGenerator<Buffer> {
  let held: Buffer[] = [];
  let heldBytes = 0;
  for await (const chunk of source) {
    let c: Buffer =
      typeof chunk === 'string'
        ? Buffer.from(chunk)
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (heldBytes + c.length >= size) {
      const take = size - heldBytes;
      held.push(c.subarray(0, take));
      yield Buffer.concat(held, size);
      held = [];
      heldBytes = 0;
      c = c.subarray(take);
    }
    if (c.length) {
      held.push(c);
      heldBytes += c.length;
    }
  }
  if (heldBytes > 0) yield Buffer.concat(held, heldBytes);
}

const tooLarge = () =>
  new InputError(
    'artifact_too_large',
    `The file is larger than ${MAX_ARTIFACT_BYTES / 1024 ** 3} GiB, the most this server stores in one file.`,
  );

export class S3ArtifactStore implements ArtifactStore {
  readonly client: S3Client;
  private readonly concurrency: number;
  private warnedNoUploadListing = false;

  constructor(
    readonly settings: S3Settings,
    o: S3StoreOptions = {},
  ) {
    this.client = new S3Client(settings, o);
    this.concurrency = Math.max(1, o.concurrency ?? 2);
  }

  /** For logs: where, never the credentials. */
  toJSON(): { store: string; location: string } {
    return { store: 's3', location: this.client.describe() };
  }

  /** One small listing of the prefix: proves the server, the credentials and the bucket. */
  async check(): Promise<void> {
    await this.client.listObjects({ prefix: this.settings.prefix, delimiter: '/', maxKeys: 1 });
  }

  private key(ref: ArtifactRef): string {
    parseRef(ref);
    return this.settings.prefix + ref;
  }

  private userPrefix(user: string): string {
    return `${this.settings.prefix}${checkUser(user)}/`;
  }

  async put(user: string, content: Uint8Array | Readable, opts: { ext: string }): Promise<ArtifactInfo> {
    const prefix = this.userPrefix(user);
    const ext = checkExt(opts.ext);
    const type = contentType(ext);
    const refOf = (hash: string) => `${prefix.slice(this.settings.prefix.length)}${hash}.${ext}`;
    const { partSize } = this.settings;
    if (!(content instanceof Readable)) {
      if (content.byteLength > MAX_ARTIFACT_BYTES) throw tooLarge();
      const bytes = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
      if (bytes.length <= partSize) return this.putWhole(refOf, type, bytes);
      // Known name: straight to it, in parts (a failed part is retried alone, not the whole).
      const ref = refOf(createHash('sha256').update(bytes).digest('hex'));
      const slices = function* () {
        for (let at = 0; at < bytes.length; at += partSize) yield bytes.subarray(at, at + partSize);
      };
      await this.multipart(this.settings.prefix + ref, type, slices());
      return { ref, size: bytes.length };
    }
    const iter = parts(content, partSize);
    try {
      // Up to two parts decide the way: one part (or none) is a plain put.
      const head: Buffer[] = [];
      while (head.length < 2) {
        const r = await iter.next();
        if (r.done) break;
        head.push(r.value);
      }
      if (head.length < 2) return await this.putWhole(refOf, type, head[0] ?? Buffer.alloc(0));
      // Shifted out so that no part stays referenced after its upload.
      const all = (async function* () {
        for (let part = head.shift(); part; part = head.shift()) yield part;
        yield* iter;
      })();
      // The name is known at the end: up to a temp key, then copied to it server-side.
      const tmp = `${prefix}.tmp-${randomUUID()}`;
      const hash = createHash('sha256');
      const size = await this.multipart(tmp, type, all, (part) => hash.update(part));
      try {
        const ref = refOf(hash.digest('hex'));
        if (!(await this.client.copyObject(tmp, this.settings.prefix + ref, { contentType: type })))
          throw storeFault('CopyObject', 'the uploaded temp object vanished before it was copied');
        return { ref, size };
      } finally {
        await this.client.deleteObject(tmp).catch(() => {}); // else deleteIncomplete will
      }
    } finally {
      await iter.return(undefined); // stops reading and closes the source on any early exit
    }
  }

  /** One PutObject to the final key; S3 checks the bytes against the sha256 we sign. */
  private async putWhole(
    refOf: (hash: string) => string,
    type: string,
    bytes: Buffer,
  ): Promise<ArtifactInfo> {
    const hash = createHash('sha256').update(bytes).digest('hex');
    const ref = refOf(hash);
    // Storing the same bytes again writes the object again: a fresh LastModified (see put()).
    await this.client.putObject(this.settings.prefix + ref, bytes, { contentType: type, sha256: hash });
    return { ref, size: bytes.length };
  }

  /**
   * A multipart upload of `parts` to `key`, `concurrency` parts at a time; nothing is visible
   * under the key unless every part is stored (any failure aborts the upload). Returns the size.
   */
  private async multipart(
    key: string,
    type: string,
    parts: AsyncIterable<Buffer> | Iterable<Buffer>,
    each?: (part: Buffer) => void,
  ): Promise<number> {
    const uploadId = await this.client.createMultipartUpload(key, type);
    const etags: string[] = [];
    const inflight = new Set<Promise<void>>();
    let failed: unknown;
    let size = 0;
    let n = 0;
    try {
      for await (const part of parts) {
        size += part.length;
        if (size > MAX_ARTIFACT_BYTES) throw tooLarge();
        each?.(part);
        const num = ++n;
        const p: Promise<void> = this.client
          .uploadPart(key, uploadId, num, part)
          .then(
            (etag) => {
              etags[num - 1] = etag;
            },
            (e) => {
              failed ??= e;
            },
          )
          .finally(() => inflight.delete(p));
        inflight.add(p);
        while (inflight.size >= this.concurrency) await Promise.race(inflight);
        if (failed) throw failed;
      }
      await Promise.all(inflight);
      if (failed) throw failed;
      // Unknown upload after a retried complete: the first attempt did it if the object is there.
      if (
        !(await this.client.completeMultipartUpload(key, uploadId, etags)) &&
        (await this.client.headObject(key))?.size !== size
      )
        throw storeFault('CompleteMultipartUpload', 'the upload vanished before it was completed');
      return size;
    } catch (e) {
      await Promise.allSettled(inflight);
      await this.client.abortMultipartUpload(key, uploadId).catch(() => {});
      throw e;
    }
  }

  async open(ref: ArtifactRef): Promise<Readable> {
    const body = await this.client.getObject(this.key(ref));
    if (!body) throw artifactMissing();
    return Readable.fromWeb(body as NodeWebStream<Uint8Array>);
  }

  async read(ref: ArtifactRef): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of await this.open(ref)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async exists(ref: ArtifactRef): Promise<boolean> {
    return (await this.client.headObject(this.key(ref))) !== undefined;
  }

  async delete(ref: ArtifactRef): Promise<boolean> {
    const key = this.key(ref);
    if (!(await this.client.headObject(key))) return false;
    await this.client.deleteObject(key);
    return true;
  }

  /** Every object under a prefix, page by page (delimiter '/': only that "folder"'s own objects). */
  private async *objects(prefix: string, delimiter?: string) {
    let token: string | undefined;
    do {
      const page = await this.client.listObjects({ prefix, delimiter, token });
      yield page;
      token = page.next;
    } while (token);
  }

  async listUser(user: string): Promise<ArtifactInfo[]> {
    const out: ArtifactInfo[] = [];
    for await (const page of this.objects(this.userPrefix(user), '/'))
      for (const o of page.objects) {
        const ref = o.key.slice(this.settings.prefix.length);
        // Whole seconds, as HEAD's Last-Modified gives them, so listUser and stat agree.
        if (ARTIFACT_REF_RE.test(ref))
          out.push({ ref, size: o.size, modifiedAt: Math.floor(o.lastModified / 1000) * 1000 });
      }
    return out;
  }

  async listUsers(): Promise<string[]> {
    const users: string[] = [];
    for await (const page of this.objects(this.settings.prefix, '/'))
      for (const p of page.prefixes) {
        const name = p.slice(this.settings.prefix.length).replace(/\/$/, '');
        if (USER_ID_RE.test(name)) users.push(name);
      }
    return users.sort();
  }

  async stat(ref: ArtifactRef): Promise<ArtifactInfo | undefined> {
    const h = await this.client.headObject(this.key(ref));
    return h ? { ref, size: h.size, modifiedAt: Math.max(h.lastModified, h.touchedAt ?? 0) } : undefined;
  }

  async touch(ref: ArtifactRef): Promise<boolean> {
    const key = this.key(ref);
    // A copy onto itself with new metadata is S3's way to renew LastModified; the touch time in
    // the metadata covers servers that keep the old one (stat reads both; the retention sweep
    // stats every file again before deleting it, so a touched file is kept on those too).
    return this.client.copyObject(key, key, {
      contentType: contentType(parseRef(ref).ext),
      touched: Date.now(),
    });
  }

  async deleteIncomplete(user: string, before: number): Promise<number> {
    const prefix = this.userPrefix(user);
    let n = 0;
    const uploads = await this.client.listMultipartUploads(prefix);
    if (uploads === undefined && !this.warnedNoUploadListing) {
      this.warnedNoUploadListing = true;
      logger.warn(
        'this S3 server cannot list unfinished multipart uploads: set a bucket lifecycle rule that aborts them (docs/storage.md)',
      );
    }
    for (const u of uploads ?? [])
      if (u.initiated < before) {
        await this.client.abortMultipartUpload(u.key, u.uploadId);
        n++;
      }
    for await (const page of this.objects(`${prefix}.tmp-`)) {
      const stale = page.objects.filter((o) => o.lastModified < before).map((o) => o.key);
      await this.client.deleteObjects(stale);
      n += stale.length;
    }
    return n;
  }

  async deleteUser(user: string): Promise<number> {
    const prefix = this.userPrefix(user);
    // Unfinished uploads hold the user's bytes too.
    for (const u of (await this.client.listMultipartUploads(prefix)) ?? [])
      await this.client.abortMultipartUpload(u.key, u.uploadId);
    const removed = new Set<string>();
    // A second pass finds anything a put that raced the first one stored; the third rarely runs.
    for (let pass = 0; pass < 3; pass++) {
      let found = 0;
      for await (const page of this.objects(prefix)) {
        const keys = page.objects.map((o) => o.key);
        await this.client.deleteObjects(keys);
        found += keys.length;
        for (const k of keys) if (ARTIFACT_REF_RE.test(k.slice(this.settings.prefix.length))) removed.add(k);
      }
      if (found === 0) break;
    }
    return removed.size;
  }
}
