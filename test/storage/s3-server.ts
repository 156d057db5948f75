/**
 * Starts the storage tests' S3 server (s3-server-process.cjs: s3rver, a real S3-protocol
 * server on 127.0.0.1) in a child process, and restarts it on the same port and data folder.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3Settings } from '../../core/storage/s3-settings.ts';

const SCRIPT = fileURLToPath(new URL('./s3-server-process.cjs', import.meta.url));

export class TestS3Server {
  private child?: ChildProcess;
  port = 0;
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'fc-s3rver-'));

  constructor(readonly bucket = 'facechain-test') {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Store settings for this server; `prefix` keeps each test's objects apart. */
  settings(prefix: string, over: Partial<S3Settings> = {}): S3Settings {
    return {
      bucket: this.bucket,
      prefix,
      region: 'us-east-1',
      endpoint: this.endpoint,
      pathStyle: true,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      partSize: 5 * 1024 * 1024,
      ...over,
    };
  }

  async start(): Promise<void> {
    // s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in its
    // legacy provider.
    const args = ['--openssl-legacy-provider', SCRIPT, this.dir, String(this.port), this.bucket];
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let err = '';
    child.stderr?.on('data', (d) => {
      err += d;
    });
    this.port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (d) => {
        out += d;
        const m = /listening (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`s3rver exited (${code}): ${err}`)));
    });
  }

  /** Kill the server at once (SIGKILL: requests in flight are cut). */
  async kill(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
