/**
 * The service as `npm start` runs it, in separate processes on loopback: a private redis-server
 * (AOF), one or more bot processes (`facechain start` with no worker queues: front-ends and the
 * delivery consumer) and worker processes (`facechain worker --queues cpu`). The chat platforms
 * are the stand-ins of test/bot (fake-telegram.ts, fake-discord.ts), run in this process. Each
 * piece can be killed with SIGKILL and started again on the same folder and port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startRedisServer } from '../../queue/redis-embedded.ts';
import { FakeDiscord } from '../../test/bot/fake-discord.ts';
import { FakeTelegram } from '../../test/bot/fake-telegram.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface BotIdentity {
  /** Telegram bot id (the token's numeric prefix). */
  telegramId?: number;
  /** Discord application id. */
  discordAppId?: string;
}

export interface StackOptions {
  /** A fresh folder for Redis data, artifacts and process logs. */
  dir: string;
  /** Bots sharing the one Redis (each its own stand-ins and bot process). */
  bots: BotIdentity[];
  workers?: number;
  /** AOF fsync policy of the private Redis. */
  appendfsync?: 'always' | 'everysec';
  /** FACECHAIN_* settings on top of the test-speed defaults below. */
  env?: Record<string, string>;
  /** Keep every platform call in the stand-ins (tests); long runs read onCall instead. */
  keepCalls?: boolean;
  /** Serve each process's /metrics on a free port (heap figures for a soak). */
  metrics?: boolean;
}

export interface Proc {
  name: string;
  child: ChildProcess;
  /** Resolves when the process said it is running. */
  ready: Promise<void>;
  exited: Promise<number | null>;
}

export interface BotSlot {
  identity: BotIdentity;
  telegram?: FakeTelegram;
  discord?: FakeDiscord;
  proc?: Proc;
}

/** Settings for test speed: short locks so a killed worker's job and a dead bot's deliveries move on fast. */
const SPEED_ENV: Record<string, string> = {
  FACECHAIN_LOG_FORMAT: 'json',
  FACECHAIN_LOG_LEVEL: 'warn',
  FACECHAIN_HEALTH_PORT: '0',
  FACECHAIN_WEB_ENABLED: 'false',
  FACECHAIN_TTS_ONLINE: 'false',
  FACECHAIN_LOCK_DURATION_MS: '5000',
  FACECHAIN_STALLED_INTERVAL_MS: '2000',
  FACECHAIN_SHUTDOWN_DEADLINE_MS: '2000',
  FACECHAIN_JOB_BACKOFF_MS: '500',
  FACECHAIN_TELEGRAM_EDIT_INTERVAL_MS: '1000',
  FACECHAIN_DISCORD_REGISTER: 'true',
  FACECHAIN_WORKER_THREADS: '1',
  // As package.json's start script: two face analyzers stay small with glibc's arenas capped.
  MALLOC_ARENA_MAX: '2',
};

export class Stack {
  redisUrl = '';
  redisPort = 0;
  redis?: Awaited<ReturnType<typeof startRedisServer>>;
  readonly bots: BotSlot[];
  readonly workers: Array<Proc | undefined> = [];
  private readonly logs = new Map<string, WriteStream>();
  /** Health/metrics port of each process by name, when `metrics` is on. */
  readonly metricsPorts = new Map<string, number>();
  readonly prefix = 'crowd';

  constructor(readonly o: StackOptions) {
    mkdirSync(o.dir, { recursive: true });
    this.bots = o.bots.map((identity) => ({ identity }));
  }

  get dataDir(): string {
    return path.join(this.o.dir, 'data');
  }

  async startRedis(): Promise<void> {
    this.redisPort ||= await freePort();
    this.redis = await startRedisServer({
      dir: path.join(this.o.dir, 'redis'),
      port: this.redisPort,
      appendfsync: this.o.appendfsync ?? 'everysec',
    });
    this.redisUrl = this.redis.url;
  }

  async startFakes(): Promise<void> {
    for (const slot of this.bots) {
      if (slot.identity.telegramId)
        slot.telegram = await new FakeTelegram({
          botId: slot.identity.telegramId,
          keepCalls: this.o.keepCalls ?? false,
        }).start();
      if (slot.identity.discordAppId)
        slot.discord = await new FakeDiscord({
          appId: slot.identity.discordAppId,
          keepCalls: this.o.keepCalls ?? false,
        }).start();
    }
  }

  /** The environment every process of this stack shares. */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    // glibc's allocator settings pass through too, to compare them (docs/load.md, "Soak").
    const keep = ['PATH', 'HOME', 'LANG', 'TMPDIR', 'NODE_OPTIONS', 'GLIBC_TUNABLES'];
    const base = Object.fromEntries(
      Object.keys(process.env)
        .filter((k) => keep.includes(k) || k.startsWith('MALLOC_'))
        .map((k) => [k, process.env[k]]),
    );
    return {
      ...base,
      ...SPEED_ENV,
      REDIS_URL: this.redisUrl,
      FACECHAIN_QUEUE_PREFIX: this.prefix,
      FACECHAIN_DATA_DIR: this.dataDir,
      FACECHAIN_MODELS_DIR: path.join(ROOT, 'data', 'models'),
      ...this.o.env,
      ...extra,
    };
  }

  private async metricsEnv(name: string): Promise<Record<string, string>> {
    if (!this.o.metrics) return {};
    const port = this.metricsPorts.get(name) ?? (await freePort());
    this.metricsPorts.set(name, port);
    return { FACECHAIN_HEALTH_PORT: String(port) };
  }

  private launch(name: string, args: string[], env: NodeJS.ProcessEnv, readyText: RegExp): Proc {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/facechain.js'), ...args], {
      cwd: this.o.dir,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = this.logs.get(name);
    if (!log) {
      log = createWriteStream(path.join(this.o.dir, `${name}.log`), { flags: 'a' });
      this.logs.set(name, log);
    }
    const sink = log;
    let said = '';
    let markReady!: () => void;
    const ready = new Promise<void>((r) => {
      markReady = r;
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      sink.write(chunk);
      if (said !== 'done') {
        said += chunk.toString();
        if (readyText.test(said)) {
          said = 'done';
          markReady();
        } else if (said.length > 100_000) said = said.slice(-10_000);
      }
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return {
      name,
      child,
      exited,
      ready: Promise.race([
        ready,
        exited.then((code) => {
          throw new Error(`${name} exited with ${code} before it was ready (see ${name}.log)`);
        }),
      ]),
    };
  }

  /** The bot process of bot `i`: `facechain start` with no worker queues (front-ends + deliveries). */
  async startBot(i: number): Promise<Proc> {
    const slot = this.bots[i];
    const env: Record<string, string> = {
      FACECHAIN_WORKER_QUEUES: '',
      ...(await this.metricsEnv(`bot${i}`)),
    };
    if (slot.telegram) {
      env.TELEGRAM_BOT_TOKEN = slot.telegram.token;
      env.TELEGRAM_API_ROOT = slot.telegram.url;
    }
    if (slot.discord) {
      env.DISCORD_TOKEN = 'ZmFrZQ.fake-discord-token.for-tests-only';
      env.DISCORD_APPLICATION_ID = slot.discord.appId;
      env.DISCORD_GUILD_ID = '900000000000000002';
      env.DISCORD_API_ROOT = slot.discord.api;
    }
    slot.proc = this.launch(`bot${i}`, ['start'], this.env(env), /facechain is running/);
    return slot.proc;
  }

  async startWorker(i: number): Promise<Proc> {
    const env = this.env(await this.metricsEnv(`worker${i}`));
    const p = this.launch(`worker${i}`, ['worker', '--queues', 'cpu'], env, /serving cpu/);
    this.workers[i] = p;
    return p;
  }

  async startAll(): Promise<void> {
    await this.startRedis();
    await this.startFakes();
    const procs = await Promise.all([
      ...this.bots.map((_, i) => this.startBot(i)),
      ...Array.from({ length: this.o.workers ?? 1 }, (_, i) => this.startWorker(i)),
    ]);
    await Promise.all(procs.map((p) => p.ready));
  }

  /** Every process of the stack with its pid (for /proc sampling). */
  pids(): Array<{ name: string; pid: number }> {
    const out: Array<{ name: string; pid: number }> = [];
    this.bots.forEach((b, i) => {
      if (b.proc?.child.pid && b.proc.child.exitCode === null)
        out.push({ name: `bot${i}`, pid: b.proc.child.pid });
    });
    this.workers.forEach((w, i) => {
      if (w?.child.pid && w.child.exitCode === null) out.push({ name: `worker${i}`, pid: w.child.pid });
    });
    if (this.redis?.process.pid && this.redis.process.exitCode === null)
      out.push({ name: 'redis', pid: this.redis.process.pid });
    return out;
  }

  async kill(p: Proc | undefined): Promise<void> {
    if (!p || p.child.exitCode !== null) return;
    p.child.kill('SIGKILL');
    await p.exited;
  }

  async killRedis(): Promise<void> {
    const r = this.redis;
    if (!r || r.process.exitCode !== null) return;
    const exited = new Promise((res) => r.process.once('exit', res));
    r.process.kill('SIGKILL');
    await exited;
  }

  /** Stop everything: processes with SIGTERM (then SIGKILL), Redis, the stand-ins. */
  async stop(): Promise<void> {
    const procs = [...this.bots.map((b) => b.proc), ...this.workers].filter(
      (p): p is Proc => !!p && p.child.exitCode === null,
    );
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(
      procs.map((p) =>
        Promise.race([p.exited, new Promise((r) => setTimeout(r, 15_000))]).then(() => {
          if (p.child.exitCode === null) p.child.kill('SIGKILL');
        }),
      ),
    );
    await this.redis?.stop();
    for (const b of this.bots) {
      await b.telegram?.stop();
      await b.discord?.stop();
    }
    for (const l of this.logs.values()) l.end();
  }
}
