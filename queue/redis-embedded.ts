/**
 * The newcomer's Redis: with no REDIS_URL, use 127.0.0.1:6379 if it answers, else start a
 * private `redis-server` with AOF persistence in the data folder and the settings BullMQ needs
 * (noeviction), and stop it on exit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { ServiceError } from '../base/errors.ts';
import { log } from '../base/log.ts';

const logger = log('redis');

export interface RedisHandle {
  url: string;
  /** True when this process started the server. */
  embedded: boolean;
  stop(): Promise<void>;
}

export async function ping(url: string, timeoutMs = 1000): Promise<boolean> {
  const r = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RedisServerOptions {
  dir: string;
  port?: number;
  /** AOF fsync policy; 'everysec' is the production recommendation, 'always' loses nothing on kill -9. */
  appendfsync?: 'always' | 'everysec' | 'no';
  binary?: string;
  /** More redis-server arguments, e.g. ['--maxmemory', '64mb']. */
  extraArgs?: string[];
}

/** Start redis-server with AOF in `dir`; resolves once it answers PING. */
export async function startRedisServer(
  o: RedisServerOptions,
): Promise<RedisHandle & { process: ChildProcess; port: number }> {
  mkdirSync(o.dir, { recursive: true });
  const port = o.port ?? (await freePort());
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    path.resolve(o.dir),
    '--appendonly',
    'yes',
    '--appendfsync',
    o.appendfsync ?? 'everysec',
    '--maxmemory-policy',
    'noeviction',
    '--save',
    '',
    '--daemonize',
    'no',
    ...(o.extraArgs ?? []),
  ];
  const child = spawn(o.binary ?? 'redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const spawned = await new Promise<ServiceError | undefined>((resolve) => {
    child.once('error', (e: NodeJS.ErrnoException) =>
      resolve(
        new ServiceError(
          'redis_missing',
          e.code === 'ENOENT'
            ? 'No REDIS_URL is set, nothing answers on 127.0.0.1:6379, and there is no redis-server to start. ' +
                'Install Redis (Debian/Ubuntu: "sudo apt-get install redis-server"; macOS: "brew install redis") ' +
                'or set REDIS_URL to a Redis 6.2+ server.'
            : `Could not start redis-server: ${e.message}`,
          { retryable: false },
        ),
      ),
    );
    child.once('spawn', () => resolve(undefined));
  });
  if (spawned) throw spawned;
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (!(await ping(url, 300))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new ServiceError(
        'redis_start_failed',
        `redis-server did not start on port ${port} (see its log above).`,
        {
          retryable: false,
        },
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  logger.info({ port, dir: o.dir }, 'started a private redis-server');
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    url,
    port,
    embedded: true,
    process: child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM'); // redis-server flushes the AOF and exits
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

const urlFile = (dataDir: string) => path.join(dataDir, 'redis', 'url');

/** REDIS_URL if set; else the local default if it answers; else a private server under dataDir. */
export async function ensureRedis(o: {
  redisUrl?: string;
  dataDir: string;
  /** The conventional local Redis tried first. */
  localUrl?: string;
}): Promise<RedisHandle> {
  if (o.redisUrl) return { url: o.redisUrl, embedded: false, stop: async () => {} };
  const local = o.localUrl ?? 'redis://127.0.0.1:6379';
  if (await ping(local)) return { url: local, embedded: false, stop: async () => {} };
  const server = await startRedisServer({ dir: path.join(o.dataDir, 'redis') });
  // So `facechain jobs` and extra `facechain worker`s on this machine find the private server.
  writeFileSync(urlFile(o.dataDir), `${server.url}\n`);
  return {
    ...server,
    async stop() {
      rmSync(urlFile(o.dataDir), { force: true });
      await server.stop();
    },
  };
}

/** For commands that join a running system: REDIS_URL, else the private server, else the default. */
export async function findRedis(o: {
  redisUrl?: string;
  dataDir: string;
  localUrl?: string;
}): Promise<string> {
  if (o.redisUrl) return o.redisUrl;
  let embedded: string | undefined;
  try {
    embedded = readFileSync(urlFile(o.dataDir), 'utf8').trim();
  } catch {
    embedded = undefined;
  }
  if (embedded && (await ping(embedded))) return embedded;
  const local = o.localUrl ?? 'redis://127.0.0.1:6379';
  if (await ping(local)) return local;
  throw new ServiceError(
    'redis_unreachable',
    'No Redis answers: set REDIS_URL, start Redis on 127.0.0.1:6379, or run "npm start" (it starts a private one).',
    { retryable: false },
  );
}
