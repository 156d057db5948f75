/**
 * Artifact store: photos, crops, embeddings, LoRA files and results, addressed by content
 * (sha256) under a per-user prefix. Job payloads carry only refs ("<user>/<sha256>.<ext>"),
 * never bytes. The interface is all callers see: the local folder here, an S3-compatible bucket
 * in s3-store.ts (refs map 1:1 to object keys), chosen by open-store.ts.
 */
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InputError } from '../../base/errors.ts';
import { USER_ID_RE } from './ids.ts';

/** "<user>/<64 hex>.<ext>": the only way a job names a stored file. */
export type ArtifactRef = string;

export const ARTIFACT_REF_RE = /^([a-z]{2,8}-[A-Za-z0-9_-]{1,64})\/([0-9a-f]{64})\.([a-z0-9]{1,8})$/;

export interface ArtifactInfo {
  ref: ArtifactRef;
  size: number;
  /**
   * Last write or touch, epoch ms (set by listUser and stat; an S3 store maps LastModified). The
   * retention sweep (queue/retention.ts) measures a file's age from it.
   */
  modifiedAt?: number;
}

export interface ArtifactStore {
  /**
   * Store bytes or a stream for a user; returns the content-addressed ref (same bytes, same ref).
   * Storing bytes that are already there must refresh their modification time: a re-upload
   * makes the file young again for the retention sweep.
   */
  put(user: string, content: Uint8Array | Readable, opts: { ext: string }): Promise<ArtifactInfo>;
  /** A stream of the stored bytes. */
  open(ref: ArtifactRef): Promise<Readable>;
  /** All bytes at once (small files: photos, crops, embeddings). */
  read(ref: ArtifactRef): Promise<Buffer>;
  exists(ref: ArtifactRef): Promise<boolean>;
  delete(ref: ArtifactRef): Promise<boolean>;
  /** The user's files, each with its size and modification time. */
  listUser(user: string): Promise<ArtifactInfo[]>;
  /** Users that have anything stored (an S3 store lists the top-level prefixes). */
  listUsers(): Promise<string[]>;
  /** Size and modification time of one file; undefined when it is not stored. */
  stat(ref: ArtifactRef): Promise<ArtifactInfo | undefined>;
  /**
   * Refresh a file's modification time (a feature reuses it, e.g. a result being animated), so
   * the retention sweep keeps it; false when it is not stored. S3: copy the object onto itself.
   */
  touch(ref: ArtifactRef): Promise<boolean>;
  /**
   * Remove leftovers of interrupted puts older than `before` (epoch ms): local temp files; an S3
   * store aborts stale multipart uploads. Returns how many were removed.
   */
  deleteIncomplete(user: string, before: number): Promise<number>;
  /** Remove everything stored for a user; returns how many files were removed. */
  deleteUser(user: string): Promise<number>;
  /**
   * Whether the store answers with these settings (a remote store: reachable, credentials and
   * bucket accepted), for a start-up check; throws the store's ConfigError or ServiceError.
   */
  check?(): Promise<void>;
}

export function parseRef(ref: string): { user: string; hash: string; ext: string } {
  const m = ARTIFACT_REF_RE.exec(ref);
  if (!m)
    throw new InputError(
      'bad_artifact_ref',
      `"${ref.slice(0, 80)}" is not an artifact reference (expected <user>/<sha256>.<ext>).`,
    );
  return { user: m[1], hash: m[2], ext: m[3] };
}

/** The file extension of a put, checked: it becomes part of a path or an object key. */
export function checkExt(ext: string): string {
  const e = ext.toLowerCase().replace(/^\./, '');
  if (!/^[a-z0-9]{1,8}$/.test(e))
    throw new InputError('bad_artifact_ext', `"${ext}" is not a file extension (letters/digits, up to 8).`);
  return e;
}

/** What every store throws for a ref that is not stored (the same error, whatever the store). */
export function artifactMissing(): InputError {
  return new InputError(
    'artifact_missing',
    // No ref in the text: it reaches users (a job's error) and names their id.
    'A stored file this request needs no longer exists (it may have expired or been deleted). Send it again.',
  );
}

export function checkUser(user: string): string {
  if (!USER_ID_RE.test(user))
    throw new InputError(
      'bad_user',
      `"${user.slice(0, 80)}" is not a user id (expected <platform>-<id>, e.g. tg-12345).`,
    );
  return user;
}

/** The local-folder store: <root>/<user>/<sha256>.<ext>, written to a temp file then renamed. */
export class LocalArtifactStore implements ArtifactStore {
  constructor(readonly root: string) {}

  private file(ref: ArtifactRef): string {
    const { user, hash, ext } = parseRef(ref);
    return path.join(this.root, user, `${hash}.${ext}`);
  }

  async put(user: string, content: Uint8Array | Readable, opts: { ext: string }): Promise<ArtifactInfo> {
    checkUser(user);
    const ext = checkExt(opts.ext);
    const dir = path.join(this.root, user);
    await mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `.tmp-${randomUUID()}`);
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    const source = content instanceof Readable ? content : Readable.from([Buffer.from(content)]);
    const out = createWriteStream(tmp, { mode: 0o600 });
    try {
      await pipeline(source, tap, out);
      const ref = `${user}/${hash.digest('hex')}.${ext}`;
      // Renaming the freshly written temp file over an existing copy replaces it, so storing the
      // same bytes again also gives the file a new modification time (see ArtifactStore.put).
      await rename(tmp, this.file(ref));
      return { ref, size };
    } catch (e) {
      // A source that fails at once can reject the pipeline before the file is even opened: wait
      // for the stream to close, or the file would be created after it was removed.
      if (!out.closed) await once(out, 'close').catch(() => {});
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async open(ref: ArtifactRef): Promise<Readable> {
    const f = this.file(ref);
    await this.mustExist(f);
    return createReadStream(f);
  }

  async read(ref: ArtifactRef): Promise<Buffer> {
    const f = this.file(ref);
    await this.mustExist(f);
    return readFile(f);
  }

  private async mustExist(f: string): Promise<void> {
    if (!(await stat(f).catch(() => null))) throw artifactMissing();
  }

  async exists(ref: ArtifactRef): Promise<boolean> {
    return (await stat(this.file(ref)).catch(() => null)) !== null;
  }

  async delete(ref: ArtifactRef): Promise<boolean> {
    const f = this.file(ref);
    const existed = await this.exists(ref);
    await rm(f, { force: true });
    return existed;
  }

  async listUser(user: string): Promise<ArtifactInfo[]> {
    checkUser(user);
    const dir = path.join(this.root, user);
    const names = await readdir(dir).catch(() => [] as string[]);
    const out: ArtifactInfo[] = [];
    for (const n of names) {
      const ref = `${user}/${n}`;
      if (!ARTIFACT_REF_RE.test(ref)) continue;
      const s = await stat(path.join(dir, n)).catch(() => null);
      if (s) out.push({ ref, size: s.size, modifiedAt: s.mtimeMs });
    }
    return out;
  }

  async listUsers(): Promise<string[]> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    return names.filter((n) => USER_ID_RE.test(n)).sort();
  }

  async stat(ref: ArtifactRef): Promise<ArtifactInfo | undefined> {
    const s = await stat(this.file(ref)).catch(() => null);
    return s ? { ref, size: s.size, modifiedAt: s.mtimeMs } : undefined;
  }

  async touch(ref: ArtifactRef): Promise<boolean> {
    const now = new Date();
    return utimes(this.file(ref), now, now).then(
      () => true,
      () => false,
    );
  }

  async deleteIncomplete(user: string, before: number): Promise<number> {
    checkUser(user);
    const dir = path.join(this.root, user);
    let n = 0;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!name.startsWith('.tmp-')) continue;
      const f = path.join(dir, name);
      const s = await stat(f).catch(() => null);
      if (s && s.mtimeMs < before) {
        await rm(f, { force: true });
        n++;
      }
    }
    return n;
  }

  async deleteUser(user: string): Promise<number> {
    checkUser(user);
    const dir = path.join(this.root, user);
    const names = await readdir(dir).catch(() => [] as string[]);
    await rm(dir, { recursive: true, force: true });
    return names.filter((n) => !n.startsWith('.tmp-')).length;
  }
}
