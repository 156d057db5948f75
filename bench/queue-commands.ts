/**
 * Where the job layer's per-request cost goes: Redis commands (by name; scripts by SHA prefix)
 * and socket writes per request, and the Node and Redis CPU time spent, for N no-op generate
 * requests enqueued and then run through one worker process (generate + delivery). On this
 * kind of machine every socket write is a costly system call, so writes per request is the
 * figure to cut (a pipeline is one write).
 *
 *   node bin/run-ts.js bench/queue-commands.ts [requests=2000]
 * Uses REDIS_URL or 127.0.0.1:6379 with a fresh key prefix, and deletes its keys afterwards.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { config } from '../core/config.ts';
import type { JobProcessor as ProcessorFn } from '../queue/jobs/index.ts';
import { Producer } from '../queue/producer.ts';
import type { JobSystemOptions } from '../queue/system.ts';
import { JobWorker } from '../queue/worker.ts';

const N = Number(process.argv[2] ?? 2000);
const url = config().REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `benchcmd${randomUUID().slice(0, 8)}`;
const artifactsDir = mkdtempSync(path.join(os.tmpdir(), 'fc-bench-'));

// Count while `on`: every command ioredis sends, and every socket write.
const counts = new Map<string, number>();
let writes = 0;
let on = false;
type Cmd = { name: string; args: unknown[] };
const proto = Redis.prototype as unknown as { sendCommand(cmd: Cmd, stream?: unknown): unknown };
const send = proto.sendCommand;
proto.sendCommand = function (cmd: Cmd, stream?: unknown) {
  if (on) {
    const k = cmd.name === 'evalsha' ? `evalsha ${String(cmd.args[0]).slice(0, 8)}` : cmd.name;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return send.call(this, cmd, stream);
};
const write = net.Socket.prototype.write;
net.Socket.prototype.write = function (this: net.Socket, ...args: Parameters<typeof write>) {
  if (on) writes++;
  return write.apply(this, args);
} as typeof write;

const cpuOfRedis = async (c: Redis) => {
  const info = await c.info('cpu');
  return Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
};

const sys: JobSystemOptions = {
  redisUrl: url,
  prefix,
  artifactsDir,
  limits: { maxPending: 100_000, maxRunning: 1000, dailyQuota: 1_000_000 },
  attempts: 3,
  backoffMs: 1000,
  keepCompletedSeconds: 3600,
  keepFailedSeconds: 3600,
  lockDurationMs: 30_000,
  stalledIntervalMs: 30_000,
  forgetWaitMs: 1000,
};
const admin = new Redis(url);
try {
  const producer = new Producer({ ...sys, requireWorker: false });
  let delivered = 0;
  const noop: ProcessorFn = (async () => ({ images: [], scores: [] })) as ProcessorFn;
  const worker = new JobWorker(sys, {
    queues: ['gpu-sd15', 'deliver'],
    concurrency: 8,
    processors: { generate: { kind: 'inline', run: noop } },
    deliverers: {
      telegram: {
        async deliver() {
          delivered++;
        },
      },
    },
  });
  on = true;
  for (let i = 0; i < N; i++) {
    const user = `tg-${i % 50}`;
    await producer.enqueue(
      'generate',
      {
        user,
        target: { platform: 'telegram', chatId: user, userId: user },
        mode: 'zero-shot',
        photo: `${user}/${'0'.repeat(64)}.jpg`,
        style: 'film',
      },
      { idempotencyKey: `tg-c${i}` },
    );
  }
  const enqueueWrites = writes;
  const redis0 = await cpuOfRedis(admin);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await worker.start(); // counted: start-up is small next to N requests
  while (delivered < N) await new Promise((r) => setImmediate(r));
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  on = false;
  const redis1 = await cpuOfRedis(admin);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  console.log(
    `queue commands: ${N} no-op generate requests (enqueue, then one worker with generate + deliver, ` +
      `concurrency 8); ${os.availableParallelism()} cores (load average ${os.loadavg()[0].toFixed(1)}; shared)`,
  );
  console.log(
    `per request: ${(total / N).toFixed(2)} Redis commands, ${(writes / N).toFixed(2)} socket writes ` +
      `(${(enqueueWrites / N).toFixed(2)} at enqueue); processing ${((N / wall) * 1000).toFixed(0)}/s, ` +
      `Node CPU ${((cpu.user + cpu.system) / 1000 / N).toFixed(3)} ms/request, Redis CPU ` +
      `${(((redis1 - redis0) * 1000) / N).toFixed(3)} ms/request`,
  );
  for (const [k, v] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`  ${(v / N).toFixed(2)} ${k}`);
  await worker.close(1000);
  await producer.close();
} finally {
  on = false;
  const keys: string[] = [];
  for await (const b of admin.scanStream({ match: `${prefix}:*`, count: 1000 }))
    keys.push(...(b as string[]));
  for (let k = 0; k < keys.length; k += 500) await admin.del(...keys.slice(k, k + 500));
  admin.disconnect();
  rmSync(artifactsDir, { recursive: true, force: true });
}
process.exit(0);
