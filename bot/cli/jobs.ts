/**
 * `facechain jobs ...`: the operator's view of the job system. Jobs added here belong to the
 * user "cli-operator" unless the JSON names another, and their replies go to the log.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { config } from '../../core/config.ts';
import { isJobName, JOB_NAMES, type JobInput, type JobName, QUEUES } from '../../queue/jobs/index.ts';
import { Producer } from '../../queue/producer.ts';
import { findRedis } from '../../queue/redis-embedded.ts';
import { jobSystemOptions, openArtifacts } from '../../queue/system.ts';
import { parseCommandLine, UsageError } from './args.ts';
import type { CliCommand } from './main.ts';

const OPERATOR = 'cli-operator';
const out = (v: unknown) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);

export const command: CliCommand = {
  summary: 'Add, inspect, cancel and list jobs; store a file as an artifact; forget a user.',
  usage: [
    'facechain jobs add <name> <json> [--id <idempotency id>]',
    '       facechain jobs run <name> <json>                (runs its processor here, no queue; prints the result)',
    '       facechain jobs status <id> | cancel <id> | list [--user <user>]',
    '       facechain jobs put <file> [--user <user>]     (prints the artifact ref to use in <json>)',
    '       facechain jobs forget <user>                   (erase everything of a user; prints the receipt)',
    `   jobs: ${JOB_NAMES.join(', ')}`,
  ].join('\n'),
  async run(argv) {
    const [sub, ...rest] = argv;
    // The whole command line is checked before Redis is contacted.
    const shape: Record<string, Parameters<typeof parseCommandLine>[1]> = {
      add: { strings: ['id'], positionals: { min: 2, max: 2 } },
      run: { positionals: { min: 2, max: 2 } },
      status: { positionals: { min: 1, max: 1, what: 'job id' } },
      cancel: { positionals: { min: 1, max: 1, what: 'job id' } },
      list: { strings: ['user'] },
      put: { strings: ['user'], positionals: { min: 1, max: 1, what: 'file' } },
      forget: { positionals: { min: 1, max: 1, what: 'user' } },
    };
    if (!sub || !shape[sub]) throw new UsageError(sub ? `Unknown subcommand "${sub}".` : 'Which subcommand?');
    const args = parseCommandLine(rest, shape[sub]);
    const [first, second] = args.positionals;
    let data: Record<string, unknown> = {};
    if (sub === 'add' || sub === 'run') {
      if (!isJobName(first!))
        throw new UsageError(`There is no job "${first}". Jobs: ${JOB_NAMES.join(', ')}.`, 'unknown_job');
      try {
        data = JSON.parse(second!);
      } catch (e) {
        throw new UsageError(`The job data is not valid JSON: ${(e as Error).message}`, 'bad_json');
      }
      if (typeof data !== 'object' || data === null || Array.isArray(data))
        throw new UsageError('The job data must be a JSON object, e.g. \'{"photo": "<ref>"}\'.', 'bad_json');
    }
    if (sub === 'run') return runHere(first as JobName, data);
    const cfg = config();
    const url = await findRedis({ redisUrl: cfg.REDIS_URL, dataDir: cfg.dataDir });
    const producer = new Producer(jobSystemOptions(cfg, url));
    try {
      switch (sub) {
        case 'add': {
          const name = first as JobName;
          const user = (data.user as string) ?? OPERATOR;
          const full = { user, target: { platform: 'cli', chatId: 'operator', userId: 'operator' }, ...data };
          const id =
            args.string('id') ?? `cli-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
          out(await producer.enqueue(name, full as JobInput<JobName>, { idempotencyKey: id }));
          return 0;
        }
        case 'status': {
          const v = await producer.status(first!);
          if (!v) {
            process.stderr.write(
              `no job "${first}" (finished jobs are removed after their retention time)\n`,
            );
            return 1;
          }
          out(v);
          return 0;
        }
        case 'cancel': {
          const job = await producer.findJob(first!);
          if (!job) {
            process.stderr.write(`no job "${first}"\n`);
            return 1;
          }
          const done = await producer.cancel(job.id as string, job.data.user);
          process.stdout.write(done ? `cancelled ${job.id}\n` : `${job.id} had already finished\n`);
          return done ? 0 : 1;
        }
        case 'list': {
          const user = args.string('user');
          if (user) {
            out(await producer.listUserJobs(user));
            return 0;
          }
          for (const q of QUEUES) {
            const counts = await producer.queue(q).getJobCounts();
            process.stdout.write(`${q.padEnd(9)} ${JSON.stringify(counts)}\n`);
            const jobs = await producer
              .queue(q)
              .getJobs(['active', 'waiting', 'prioritized', 'delayed'], 0, 19);
            for (const j of jobs) {
              const v = await producer.view(j);
              process.stdout.write(
                `  ${v.id.padEnd(28)} ${v.name.padEnd(16)} ${v.state.padEnd(9)} ${v.user ?? ''}` +
                  `${v.stage ? ` ${v.stage} ${v.percent ?? 0}%` : ''}${v.position ? ` #${v.position}` : ''}` +
                  `${v.etaSeconds !== undefined ? ` eta ${v.etaSeconds}s` : ''}\n`,
              );
            }
          }
          return 0;
        }
        case 'put': {
          const file = first!;
          const ext = path.extname(file).slice(1).toLowerCase() || 'bin';
          const info = await producer.artifacts.put(args.string('user') ?? OPERATOR, await readFile(file), {
            ext,
          });
          out(info);
          return 0;
        }
        case 'forget': {
          out(await producer.forget(first!));
          return 0;
        }
        default:
          throw new UsageError(`Unknown subcommand "${sub}".`);
      }
    } finally {
      await producer.close();
    }
  },
};

/** `jobs run`: the job's processor in this process, through its declaration (no Redis, no queue). */
async function runHere(name: JobName, data: Record<string, unknown>): Promise<number> {
  const { runJobDirectly } = await import('../../queue/jobs/run-direct.ts');
  const user = (data.user as string) ?? OPERATOR;
  const full = { user, target: { platform: 'cli', chatId: 'operator', userId: 'operator' }, ...data };
  out(
    await runJobDirectly(name, full, {
      artifacts: openArtifacts({ artifactsDir: config().artifactsDir }),
      progress: (stage, percent) => process.stderr.write(`${stage} ${Math.round(percent)}%\n`),
    }),
  );
  return 0;
}
