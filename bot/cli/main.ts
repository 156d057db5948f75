/**
 * `facechain <command>`: the operator's and the newcomer's command line. Each command lives in
 * its own module and is loaded only when used.
 */
import { errorInfo, isFacechainError } from '../../core/errors.ts';

export interface CliCommand {
  summary: string;
  usage: string;
  /** Returns the process exit code. */
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
  pose: () => import('./pose.ts'),
  segment: () => import('./segment.ts'),
  tryon: () => import('./tryon.ts'),
};

function help(): string {
  return [
    'usage: facechain <command> [options]',
    '',
    'commands:',
    ...Object.keys(commands).map((c) => `  ${c}`),
    '',
    'Run "facechain <command> --help" for a command\'s options.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help()}\n`);
    return name ? 0 : 2;
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
  return command.run(rest);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  const info = errorInfo(e);
  process.stderr.write(`facechain: ${info.message}${isFacechainError(e) ? ` [${info.code}]` : ''}\n`);
  if (!isFacechainError(e) && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  process.exitCode = 1;
}
