/**
 * `facechain jobs ...`: the operator's view of the job system. Jobs added here belong to the
 * user "cli-operator" unless the JSON names another, and their replies go to the log.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../base/errors.ts';
import { config } from '../../core/config.ts';
import { isJobName, JOB_NAMES, QUEUES } from '../../queue/jobs/index.ts';
import { Producer } from '../../queue/producer.ts';
import { findRedis } from '../../queue/redis-embedded.ts';
import { jobSystemOptions, openArtifacts } from '../../queue/system.ts';
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
    const opt = (name: string) => {
      const i = rest.indexOf(name);
      return i >= 0 ? rest[i + 1] : undefined;
    };
    if (sub === 'run') return runHere(rest, this.usage);
    const cfg = config();
    const url = await findRedis({ redisUrl: cfg.REDIS_URL, dataDir: cfg.dataDir });
    const producer = new Producer(jobSystemOptions(cfg, url));
    try {
      switch (sub) {
        case 'add': {
          const [name, json] = rest;
          if (!name || !json) throw new InputError('usage', `usage: ${this.usage}`);
          if (!isJobName(name))
            throw new InputError('unknown_job', `There is no job "${name}". Jobs: ${JOB_NAMES.join(', ')}.`);
          let data: Record<string, unknown>;
          try {
            data = JSON.parse(json);
          } catch (e) {
            throw new InputError('bad_json', `The job data is not valid JSON: ${(e as Error).message}`);
          }
          const user = (data.user as string) ?? OPERATOR;
          const full = { user, target: { platform: 'cli', chatId: 'operator', userId: 'operator' }, ...data };
          const id = opt('--id') ?? `cli-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
          out(await producer.enqueue(name, full as never, { idempotencyKey: id }));
          return 0;
        }
        case 'status': {
          const v = rest[0] ? await producer.status(rest[0]) : undefined;
          if (!v) {
            process.stderr.write(
              `no job "${rest[0] ?? ''}" (finished jobs are removed after their retention time)\n`,
            );
            return 1;
          }
          out(v);
          return 0;
        }
        case 'cancel': {
          const job = rest[0] ? await producer.findJob(rest[0]) : undefined;
          if (!job) {
            process.stderr.write(`no job "${rest[0] ?? ''}"\n`);
            return 1;
          }
          const done = await producer.cancel(job.id as string, job.data.user);
          process.stdout.write(done ? `cancelled ${job.id}\n` : `${job.id} had already finished\n`);
          return done ? 0 : 1;
        }
        case 'list': {
          const user = opt('--user');
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
          const file = rest.find((a, i) => !a.startsWith('--') && rest[i - 1] !== '--user');
          if (!file) throw new InputError('usage', 'usage: facechain jobs put <file> [--user <user>]');
          const ext = path.extname(file).slice(1).toLowerCase() || 'bin';
          const info = await producer.artifacts.put(opt('--user') ?? OPERATOR, await readFile(file), { ext });
          out(info);
          return 0;
        }
        case 'forget': {
          if (!rest[0]) throw new InputError('usage', 'usage: facechain jobs forget <user>');
          out(await producer.forget(rest[0]));
          return 0;
        }
        default:
          process.stderr.write(`usage: ${this.usage}\n`);
          return 2;
      }
    } finally {
      await producer.close();
    }
  },
};

/** `jobs run <name> <json>`: the job's processor in this process, through its declaration (no Redis). */
async function runHere(rest: string[], usage: string): Promise<number> {
  const [name, json] = rest;
  if (!name || !json) throw new InputError('usage', `usage: ${usage}`);
  if (!isJobName(name))
    throw new InputError('unknown_job', `There is no job "${name}". Jobs: ${JOB_NAMES.join(', ')}.`);
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(json);
  } catch (e) {
    throw new InputError('bad_json', `The job data is not valid JSON: ${(e as Error).message}`);
  }
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
