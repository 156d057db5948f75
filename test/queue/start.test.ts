import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Producer } from '../../queue/producer.ts';
import { freePort } from '../../queue/redis-embedded.ts';
import { cleanup, REDIS_URL, target, testOptions, until } from './helpers.ts';

const opts = testOptions();
let producer: Producer | undefined;

afterEach(async () => {
  await producer?.close();
  await cleanup(opts);
});

describe('facechain start', () => {
  it('runs worker + delivery + health in one process, answers jobs, and stops on SIGTERM', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fc-start-'));
    const port = await freePort();
    const child = spawn(process.execPath, ['bin/facechain.js', 'start'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        REDIS_URL,
        FACECHAIN_QUEUE_PREFIX: opts.prefix,
        FACECHAIN_DATA_DIR: dataDir,
        FACECHAIN_ARTIFACTS_DIR: opts.artifactsDir,
        FACECHAIN_MODELS_DIR: path.resolve('data/models'),
        FACECHAIN_HEALTH_PORT: String(port),
        FACECHAIN_WEB_ENABLED: 'false',
        FACECHAIN_LOG_LEVEL: 'info',
        TELEGRAM_BOT_TOKEN: '',
        DISCORD_TOKEN: '',
      },
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await until(() => stderr.includes('Press Ctrl+C'), 60_000, 100);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      producer = new Producer(opts);
      const photo = await producer.artifacts.put(
        'cli-operator',
        readFileSync(new URL('../fixtures/faces/astronaut.png', import.meta.url)),
        { ext: 'png' },
      );
      await producer.enqueue(
        'analyze',
        { user: 'cli-operator', target: { ...target(), platform: 'cli' }, photo: photo.ref },
        { idempotencyKey: 'cli-start1' },
      );
      await until(() => stderr.includes('result for the command line'), 60_000, 100);
      expect((await producer.status('cli-start1'))?.state).toBe('completed');
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/facechain_jobs_total\{queue="cpu",name="analyze",outcome="completed"\} 1/);
      expect(metrics).toMatch(/facechain_queue_jobs\{queue="cpu",state="completed"\} 1/);
      expect(metrics).toMatch(/facechain_event_loop_lag_max_seconds/);
      // Logs never carry image bytes or file paths of the photo, only refs.
      expect(stderr).not.toMatch(/base64|data:image/);
      const t0 = Date.now();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
