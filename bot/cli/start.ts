/**
 * `facechain start` (= `npm start`): everything in one process tree. Redis from REDIS_URL, else
 * 127.0.0.1:6379 if it answers, else a private redis-server with AOF in the data folder; a worker
 * for the configured queues (FACECHAIN_WORKER_QUEUES) plus the deliver queue; the configured
 * front-ends; the health/metrics endpoint. Stops cleanly on SIGTERM/SIGINT.
 */

import { errorInfo } from '../../base/errors.ts';
import { config } from '../../core/config.ts';
import { ModelStore } from '../../models/store.ts';
import { parseQueues, runService, stopOnSignals } from '../app.ts';
import { parseCommandLine } from './args.ts';
import type { CliCommand } from './main.ts';

export const command: CliCommand = {
  summary: 'Run the bot: front-ends, a worker, the health endpoint (and a private Redis if needed).',
  usage: 'facechain start   (settings: see README; FACECHAIN_WORKER_QUEUES chooses the queues served here)',
  async run(argv) {
    parseCommandLine(argv, {}); // settings come from the environment; nothing else is accepted
    const cfg = config();
    const { checkFrontendSettings, startFrontends } = await import('../frontends.ts');
    checkFrontendSettings(cfg); // before Redis, models or a worker start
    await ensureFaceModels(cfg.modelsDir);
    const service = await runService({
      cfg,
      queues: parseQueues(cfg.FACECHAIN_WORKER_QUEUES),
      embeddedRedis: true,
      frontends: (ctx) => startFrontends(ctx),
    });
    const lines = [
      `facechain is running (pid ${process.pid})`,
      `  redis:     ${service.redis.embedded ? `private redis-server at ${service.redis.url} (data in ${cfg.dataDir}/redis)` : service.redis.url.replace(/\/\/[^@]*@/, '//<credentials>@')}`,
      `  queues:    ${parseQueues(cfg.FACECHAIN_WORKER_QUEUES).join(', ')}, deliver`,
      ...(service.health
        ? [
            `  health:    http://${cfg.FACECHAIN_HEALTH_HOST}:${service.health.port}/readyz  (metrics: /metrics)`,
          ]
        : []),
      ...service.frontends.map((f) => `  ${`${f.name}:`.padEnd(10)} ${f.address ?? 'started'}`),
      ...(service.frontends.length === 0
        ? ['  front-ends: none configured (see README: Telegram, Discord, web)']
        : []),
      'Press Ctrl+C to stop.',
    ];
    process.stderr.write(`${lines.join('\n')}\n`);
    await stopOnSignals(service);
    return 0;
  },
};

/**
 * A newcomer's first `npm start` fetches the face and body models (about 24 MB kept, verified by sha256); later
 * starts only check them. Without them the bot still starts, and photo jobs answer with the
 * model store's own "not installed: run npx facechain models fetch" error.
 */
async function ensureFaceModels(modelsDir: string): Promise<void> {
  const store = new ModelStore(modelsDir);
  const ids = store.defaultIds();
  const states = (await Promise.all(ids.map((id) => store.status(id)))).flat();
  if (states.every((s) => s.state === 'ok')) return;
  process.stderr.write(`fetching face models into ${modelsDir} (first start only)...\n`);
  try {
    await store.fetch(ids);
  } catch (e) {
    process.stderr.write(
      `warning: could not fetch the face models: ${errorInfo(e).message}\n` +
        'Photos cannot be analysed until "npx facechain models fetch" succeeds.\n',
    );
  }
}
