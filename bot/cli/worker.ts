/**
 * `facechain worker`: a worker process that joins a running system (one more machine or GPU):
 * it connects to REDIS_URL (or this machine's Redis) and serves the queues it is given.
 * Artifacts must be reachable at the same FACECHAIN_ARTIFACTS_DIR (shared folder) on every
 * machine until an S3-compatible store is configured (docs/jobs.md).
 */
import { config } from '../../core/config.ts';
import { parseQueues, runService, stopOnSignals } from '../app.ts';
import { parseCommandLine, UsageError } from './args.ts';
import type { CliCommand } from './main.ts';

export const command: CliCommand = {
  summary: 'Run a worker that joins a running system and serves the given queues.',
  usage: 'facechain worker [--queues cpu,gpu-sd15,gpu-talk] [--concurrency N] [--threads N]',
  async run(argv) {
    const args = parseCommandLine(argv, { strings: ['queues', 'concurrency', 'threads'] });
    const concurrency = args.int('concurrency', { min: 1, max: 64 });
    const threads = args.int('threads', { min: 1, max: 64 });
    const cfg = config();
    let queues: ReturnType<typeof parseQueues>;
    try {
      queues = parseQueues(args.string('queues') ?? cfg.FACECHAIN_WORKER_QUEUES);
    } catch (e) {
      // A wrong --queues is a usage error; a wrong FACECHAIN_WORKER_QUEUES a configuration one.
      if (args.string('queues') === undefined) throw e;
      throw new UsageError(`--queues: ${(e as Error).message}`, 'bad_queue');
    }
    const service = await runService({ cfg, queues, embeddedRedis: false, concurrency, threads });
    process.stderr.write(
      `worker ${process.pid} serving ${queues.join(', ')}` +
        (service.health ? `; health http://${cfg.FACECHAIN_HEALTH_HOST}:${service.health.port}/readyz` : '') +
        '\n',
    );
    await stopOnSignals(service);
    return 0;
  },
};
