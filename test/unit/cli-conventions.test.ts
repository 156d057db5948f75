/**
 * Command-line conventions of every `facechain` subcommand (bot/cli/args.ts): a wrong command
 * line exits 2 with the message and the usage on stderr and nothing on stdout; --help prints to
 * stdout and exits 0; results are the only thing on stdout. Most cases run in this process
 * through runCli (stdout and stderr captured); two run the real binary.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError } from '../../bot/cli/args.ts';
import { COMMAND_NAMES } from '../../bot/cli/main.ts';
import { runCliCaptured } from './run-cli.ts';

const cli = runCliCaptured;

const F = 'test/fixtures/faces';
// Every subcommand main.ts knows: a new one must add a wrong command line below.
const COMMANDS = COMMAND_NAMES;

/** Wrong command lines, each with what the message must say. None reaches a model or Redis. */
const USAGE_ERRORS: [string[], RegExp][] = [
  [['analyze'], /Expected at least 1 image, got 0/],
  [['analyze', 'a.jpg', '--bogus'], /Unknown option --bogus/],
  [['analyze', 'a.jpg', '--embedding=yes'], /--embedding takes no value/],
  [['compare', 'a.jpg'], /Expected 2 images, got 1/],
  [['prepare', 'a.jpg'], /--out is required/],
  [['prepare', 'a.jpg', '--out'], /--out needs a value/],
  [['fuse', 'a.png', 'b.png'], /--out is required/],
  [['fuse', 'a.png', 'b.png', '--out', 'x.png', '--face', 'two'], /--face must be a whole number/],
  [['fuse', 'a.png', 'b.png', '--out', 'x.bmp'], /\.png, \.jpg or \.webp/],
  [['fuse', 'a.png', 'b.png', '--out', 'x.png', '--blend', 'soft'], /--blend must be feather or poisson/],
  [['rank', 'a.png'], /Expected at least 2 photos, got 1/],
  [['rank', 'a.png', 'b.png', '--top', '0'], /--top must be a whole number of at least 1/],
  [['generate'], /--prompt and --out are required/],
  [['generate', 'a cat'], /Unexpected argument "a cat"/],
  [['generate', '--prompt', 'x', '--out', 'o', '--size', 'big'], /--size must look like 512x768/],
  [['generate', '--prompt', 'x', '--out', 'o', '--steps', '1.5'], /--steps must be a whole number/],
  [['generate', '--prompt', 'x', '--out', 'o', '--control', 'canny'], /--control must look like/],
  [
    ['generate', '--prompt', 'x', '--out', 'o', '--control', 'canny=e.png,bold'],
    /Unknown --control part "bold"/,
  ],
  [['models'], /Which subcommand/],
  [['models', 'sync'], /Unknown subcommand "sync"/],
  [['models', 'fetch', 'no-such-model'], /There is no model "no-such-model"/],
  [['models', 'list', 'extra'], /Unexpected argument "extra"/],
  [['models', 'verify', '--force'], /Unknown option --force/],
  [['styles'], /Which subcommand/],
  [['styles', 'import'], /Expected at least 1 style file or folder, got 0/],
  [['styles', 'list', '--locale'], /--locale needs a value/],
  [['lora'], /Which subcommand/],
  [['lora', 'inspect'], /Expected at least 1 file, got 0/],
  [['jobs'], /Which subcommand/],
  [['jobs', 'add', 'analyze'], /Expected 2 arguments, got 1/],
  [['jobs', 'add', 'no-such-job', '{}'], /There is no job "no-such-job"/],
  [['jobs', 'add', 'analyze', 'not json'], /not valid JSON/],
  [['jobs', 'add', 'analyze', '[1]'], /must be a JSON object/],
  [['jobs', 'status'], /Expected 1 job id, got 0/],
  [['jobs', 'list', '--what'], /Unknown option --what/],
  [['files'], /Which subcommand/],
  [['files', 'sweep', '--now'], /Unknown option --now/],
  [['worker', '--concurrency', '0'], /--concurrency must be a whole number from 1 to 64/],
  [['worker', '--queues', 'gpu-nope'], /--queues: Unknown queue "gpu-nope"/],
  [['start', '--port', '80'], /Unknown option --port/],
  [['start', 'now'], /Unexpected argument "now"/],
  [['talk', 'p.png', '--text', 'hi'], /--out is required/],
  [['talk', 'p.png', '--out', 'x.mp4'], /either --text or --audio/],
  [['pose'], /Expected at least 1 photo, got 0/],
  [['segment', 'p.jpg'], /--out is required/],
  [['tryon', 'a.jpg', '--out', 'r.png'], /Expected 2/],
];

describe('usage errors', () => {
  it.each(USAGE_ERRORS)(
    'facechain %j exits 2, says why and how, prints nothing on stdout',
    async (argv, why) => {
      const r = await cli(argv);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(new RegExp(`^facechain ${argv[0]}: `));
      expect(r.stderr).toMatch(why);
      expect(r.stderr).toMatch(new RegExp(`\\nusage: facechain ${argv[0]}`));
    },
  );

  it('covers every subcommand', () => {
    expect(COMMANDS.filter((c) => !USAGE_ERRORS.some(([argv]) => argv[0] === c))).toEqual([]);
  });

  it('no command or an unknown one: the command list on stderr, exit 2', async () => {
    const none = await cli([]);
    expect([none.code, none.stdout]).toEqual([2, '']);
    expect(none.stderr).toMatch(/^usage: facechain <command>/);
    const unknown = await cli(['paint']);
    expect([unknown.code, unknown.stdout]).toEqual([2, '']);
    expect(unknown.stderr).toMatch(/unknown command "paint"/);
  });
});

describe('help and results', () => {
  it('prints each command’s help on stdout with exit 0', async () => {
    const all = await cli(['help']);
    expect(all.code).toBe(0);
    for (const c of COMMANDS) {
      expect(all.stdout).toContain(`  ${c}\n`);
      const r = await cli([c, '--help']);
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect(r.stdout).toMatch(new RegExp(`\\n\\nusage: facechain ${c}`));
    }
  });

  it('models list / verify and styles check print results only, exit 0', async () => {
    const list = await cli(['models', 'list']);
    expect(list.code).toBe(0);
    for (const line of list.stdout.trim().split('\n'))
      expect(line).toMatch(/^\S+\s+\S+\s+[\d.]+ MB {2}\S+\s+\S+/);
    const verify = await cli(['models', 'verify']);
    expect([verify.code, verify.stderr]).toEqual([0, '']);
    for (const line of verify.stdout.trim().split('\n')) expect(line).toMatch(/^[\w.-]+\/[\w.-]+: ok$/);
    const styles = await cli(['styles', 'check']);
    expect([styles.code, styles.stderr]).toEqual([0, '']);
    expect(styles.stdout).toMatch(/^\d+ packs OK, 0 broken\n$/);
  });
});

describe('the real binary', () => {
  const bin = (args: string[], env: Record<string, string> = {}) =>
    promisify(execFile)(process.execPath, [path.resolve('bin/facechain.js'), ...args], {
      env: { ...process.env, ...env },
    }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it('exits 2 on a usage error', async () => {
    const r = await bin(['compare', `${F}/astronaut.png`]);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toMatch(/^facechain compare: Expected 2 images, got 1\.\nusage: /);
  });

  it('puts only results on stdout, even with every log line on', async () => {
    const r = await bin(['analyze', `${F}/astronaut.png`, 'missing.jpg'], {
      FACECHAIN_LOG_LEVEL: 'trace',
    });
    expect(r.code).toBe(1); // one of the two failed
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => Object.keys(JSON.parse(l))[0])).toEqual(['file', 'file']);
  });
});

describe('the shared parser', () => {
  const spec = {
    strings: ['out', 'n', 'x', 'mode'],
    flags: ['dry'],
    lists: ['tag'],
    positionals: { min: 1, max: 2, what: 'photo' },
  };

  it('reads values, flags, repeated lists and numbers', () => {
    const a = parseCommandLine(
      ['p.jpg', '--out=o', '--n', '3', '--x=-0.25', '--tag', 'a', '--tag', 'b', '--dry'],
      {
        ...spec,
      },
    );
    expect(a.positionals).toEqual(['p.jpg']);
    expect([a.string('out'), a.int('n'), a.flag('dry'), a.list('tag')]).toEqual(['o', 3, true, ['a', 'b']]);
    expect(a.choice('mode', ['fast', 'slow'])).toBeUndefined();
    expect(parseCommandLine(['p', '--x=-0.5'], spec).number('x', { min: -1, max: 1 })).toBe(-0.5);
    expect(parseCommandLine(['p', '--', '--not-an-option'], spec).positionals).toEqual([
      'p',
      '--not-an-option',
    ]);
  });

  it('throws UsageError with a specific message', () => {
    const bad = (argv: string[], check: (a: ReturnType<typeof parseCommandLine>) => unknown = () => 0) => {
      try {
        check(parseCommandLine(argv, spec));
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(bad(['p', '--x', '-1'])).toMatch(/--x needs a value \(write --x=<value>/);
    expect(bad(['p', '--n', '2.5'], (a) => a.int('n'))).toBe('--n must be a whole number, got "2.5".');
    expect(bad(['p', '--n', ''], (a) => a.int('n'))).toBe('--n must be a whole number, got "".');
    expect(bad(['p', '--x', '7'], (a) => a.number('x', { max: 1 }))).toBe(
      '--x must be a number of at most 1, got "7".',
    );
    expect(bad(['p', '--mode', 'odd'], (a) => a.choice('mode', ['fast', 'slow']))).toBe(
      '--mode must be fast or slow, got "odd".',
    );
    expect(bad(['a', 'b', 'c'])).toBe('Expected 1-2 photos, got 3.');
    expect(bad(['-v', 'p'])).toBe('Unknown option -v.');
  });
});
