/**
 * `facechain files sweep [--dry-run]`: run the retention sweep now (queue/retention.ts), the same
 * one worker processes run every FACECHAIN_RETENTION_INTERVAL_MINUTES. Prints counts only.
 */

import { config } from '../../core/config.ts';
import { Producer } from '../../queue/producer.ts';
import { findRedis } from '../../queue/redis-embedded.ts';
import { sweepFiles } from '../../queue/retention.ts';
import { jobSystemOptions } from '../../queue/system.ts';
import { parseCommandLine, UsageError } from './args.ts';
import type { CliCommand } from './main.ts';

export const command: CliCommand = {
  summary:
    'Delete stored files older than FACECHAIN_KEEP_FILES_HOURS that no identity, group record, ' +
    'unfinished job or pending reply names (--dry-run: count only).',
  usage: 'facechain files sweep [--dry-run]',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub !== 'sweep') throw new UsageError(sub ? `Unknown subcommand "${sub}".` : 'Which subcommand?');
    const dryRun = parseCommandLine(rest, { flags: ['dry-run'] }).flag('dry-run');
    const cfg = config();
    if (cfg.FACECHAIN_KEEP_FILES_HOURS === 0) {
      process.stdout.write(
        'Retention is off (FACECHAIN_KEEP_FILES_HOURS=0): files are kept until /forget.\n',
      );
      return 0;
    }
    const url = await findRedis({ redisUrl: cfg.REDIS_URL, dataDir: cfg.dataDir });
    const producer = new Producer(jobSystemOptions(cfg, url));
    try {
      const report = await sweepFiles(producer, {
        keepFilesHours: cfg.FACECHAIN_KEEP_FILES_HOURS,
        dryRun,
      });
      const verb = report.dryRun ? 'would delete' : 'deleted';
      process.stdout.write(
        `users scanned ${report.users}, files ${report.files}: ${verb} ${report.deleted} ` +
          `(${report.bytesFreed} bytes), kept because referenced ${report.keptReferenced}, ` +
          `kept because younger than ${report.keepFilesHours} h ${report.keptYoung}` +
          (report.skippedUsers ? `, users skipped (records unreadable) ${report.skippedUsers}` : '') +
          (report.incomplete ? `, interrupted uploads removed ${report.incomplete}` : '') +
          '\n',
      );
      process.stdout.write(`${JSON.stringify(report)}\n`);
      return 0;
    } finally {
      await producer.close();
    }
  },
};
