/**
 * `facechain start` (= `npm start`): everything in one process tree. Redis from REDIS_URL, else
 * 127.0.0.1:6379 if it answers, else a private redis-server with AOF in the data folder; a worker
 * for the configured queues (FACECHAIN_WORKER_QUEUES) plus the deliver queue; the configured
 * front-ends; the health/metrics endpoint. Stops cleanly on SIGTERM/SIGINT.
 */
import { config } from '../../core/config.ts';
import { parseQueues, runService, stopOnSignals } from '../../queue/service.ts';
import type { CliCommand } from './main.ts';

export const command: CliCommand = {
  summary: 'Run the bot: front-ends, a worker, the health endpoint (and a private Redis if needed).',
  usage: 'facechain start   (settings: see README; FACECHAIN_WORKER_QUEUES chooses the queues served here)',
  async run() {
    const cfg = config();
    const { startFrontends } = await import('../frontends.ts');
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
