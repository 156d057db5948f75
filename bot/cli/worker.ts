/**
 * `facechain worker`: a worker process that joins a running system (one more machine or GPU):
 * it connects to REDIS_URL (or this machine's Redis) and serves the queues it is given.
 * Artifacts must be reachable at the same FACECHAIN_ARTIFACTS_DIR (shared folder) on every
 * machine until an S3-compatible store is configured (docs/jobs.md).
 */
import { config } from '../../core/config.ts';
import { parseQueues, runService, stopOnSignals } from '../app.ts';
import type { CliCommand } from './main.ts';

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

export const command: CliCommand = {
  summary: 'Run a worker that joins a running system and serves the given queues.',
  usage: 'facechain worker [--queues cpu,gpu-sd15,gpu-talk] [--concurrency N] [--threads N]',
  async run(argv) {
    const cfg = config();
    const queues = parseQueues(option(argv, '--queues') ?? cfg.FACECHAIN_WORKER_QUEUES);
    const num = (v: string | undefined) =>
      v === undefined ? undefined : Math.max(1, Number.parseInt(v, 10) || 1);
    const service = await runService({
      cfg,
      queues,
      embeddedRedis: false,
      concurrency: num(option(argv, '--concurrency')),
      threads: num(option(argv, '--threads')),
    });
    process.stderr.write(
      `worker ${process.pid} serving ${queues.join(', ')}` +
        (service.health ? `; health http://${cfg.FACECHAIN_HEALTH_HOST}:${service.health.port}/readyz` : '') +
        '\n',
    );
    await stopOnSignals(service);
    return 0;
  },
};
