/**
 * `facechain <command>`: the operator's and the newcomer's command line. Each command lives in
 * its own module and is loaded only when used; bin/facechain.js calls runCli. Conventions (one
 * parser, exit codes, stdout for results only): bot/cli/args.ts.
 */
import { errorInfo, isFacechainError } from '../../base/errors.ts';
import { UsageError } from './args.ts';

export interface CliCommand {
  summary: string;
  usage: string;
  /**
   * Returns the exit code: 0, or 1 when some of the work failed. Throws UsageError for a wrong
   * command line (exit 2) and any other error for a failure (exit 1).
   */
  run(argv: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<{ command: CliCommand }>> = {
  models: () => import('./models.ts'),
  styles: () => import('./styles.ts'),
  lora: () => import('./lora.ts'),
  start: () => import('./start.ts'),
  worker: () => import('./worker.ts'),
  jobs: () => import('./jobs.ts'),
  files: () => import('./files.ts'),
  fuse: () => import('./fuse.ts'),
  rank: () => import('./rank.ts'),
  analyze: () => import('./analyze.ts'),
  compare: () => import('./compare.ts'),
  prepare: () => import('./prepare.ts'),
  generate: () => import('./generate.ts'),
  talk: () => import('./talk.ts'),
  pose: () => import('./pose.ts'),
  segment: () => import('./segment.ts'),
  tryon: () => import('./tryon.ts'),
};

/** The subcommands, for help and for the conventions test. */
export const COMMAND_NAMES = Object.keys(commands);

function help(): string {
  return [
    'usage: facechain <command> [options]',
    '',
    'commands:',
    ...COMMAND_NAMES.map((c) => `  ${c}`),
    '',
    'Run "facechain <command> --help" for a command\'s options.',
  ].join('\n');
}

/** Runs one command line; returns the exit code (0 ok, 1 failed, 2 usage error). */
export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help()}\n`);
    return 0;
  }
  if (!name) {
    process.stderr.write(`${help()}\n`);
    return 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`facechain: unknown command "${name}"\n\n${help()}\n`);
    return 2;
  }
  const { command } = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.summary}\n\nusage: ${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`facechain ${name}: ${e.message}\nusage: ${command.usage}\n`);
      return 2;
    }
    const info = errorInfo(e);
    process.stderr.write(`facechain: ${info.message}${isFacechainError(e) ? ` [${info.code}]` : ''}\n`);
    if (!isFacechainError(e) && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}
