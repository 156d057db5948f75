/**
 * The one command-line parser of `facechain` subcommands (node:util parseArgs underneath), so
 * every subcommand follows the same conventions:
 *
 * - A usage error (unknown option, missing value, wrong number of arguments, a value of the wrong
 *   form) throws UsageError; bot/cli/main.ts prints the message and the command's usage on
 *   stderr and exits 2. Every other failure exits 1.
 * - Results, and only results, go to stdout; progress, warnings and logs go to stderr.
 * - `--help` / `-h` is answered by main.ts before the command runs.
 *
 * A new subcommand adopts it in a few lines, e.g.:
 *
 *   const args = parseCommandLine(argv, {
 *     strings: ['text', 'voice', 'out'],   // --name <value>
 *     flags: ['no-audio'],                 // --name
 *     lists: ['frame'],                    // --name <value>, repeatable
 *     required: ['text', 'out'],
 *     positionals: { min: 1, max: 1, what: 'photo' },
 *   });
 *   const [photo] = args.positionals;
 *   const fps = args.int('fps', { min: 1, max: 60 }) ?? 25;
 *   const voice = args.choice('voice', ['en', 'zh']) ?? 'en';
 */
import { parseArgs } from 'node:util';
import { InputError } from '../../base/errors.ts';

/** The command line itself is wrong: exit 2, with the usage. */
export class UsageError extends InputError {
  constructor(message: string, code = 'usage') {
    super(code, message);
  }
}

export interface CommandLineSpec {
  /** Options that take a value: --name <value> or --name=<value>. */
  strings?: string[];
  /** Options without a value. */
  flags?: string[];
  /** Options that take a value and may be repeated. */
  lists?: string[];
  /** Options that must be given (from strings or lists). */
  required?: string[];
  /** How many plain arguments; default none. `what` names one in messages ("image"). */
  positionals?: { min?: number; max?: number; what?: string };
}

export interface CommandLine {
  positionals: string[];
  string(name: string): string | undefined;
  flag(name: string): boolean;
  list(name: string): string[];
  /** A whole number, or undefined when the option is absent. */
  int(name: string, range?: { min?: number; max?: number }): number | undefined;
  /** Any finite number, or undefined when the option is absent. */
  number(name: string, range?: { min?: number; max?: number }): number | undefined;
  /** One of the given words, or undefined when the option is absent. */
  choice<T extends string>(name: string, choices: readonly T[]): T | undefined;
}

/** parseArgs' errors, said the project's way. */
function usageMessage(e: { code?: string; message: string }): string {
  const opt = /'(-{1,2}[^' ]+)/.exec(e.message)?.[1] ?? 'an option';
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `Unknown option ${opt}.`;
  if (/does not take an argument/.test(e.message)) return `${opt} takes no value.`;
  if (/ambiguous/.test(e.message))
    return `${opt} needs a value (write ${opt}=<value> for a value that starts with "-").`;
  return `${opt} needs a value.`;
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

export function parseCommandLine(argv: string[], spec: CommandLineSpec): CommandLine {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const n of spec.strings ?? []) options[n] = { type: 'string' };
  for (const n of spec.flags ?? []) options[n] = { type: 'boolean' };
  for (const n of spec.lists ?? []) options[n] = { type: 'string', multiple: true };
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    const err = e as { code?: string; message: string };
    if (err.code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError(usageMessage(err));
    throw e;
  }
  const { values, positionals } = parsed;
  for (const n of spec.required ?? [])
    if (values[n] === undefined) throw new UsageError(`--${n} is required.`, 'missing_option');
  const { min = 0, max = min, what = 'argument' } = spec.positionals ?? {};
  if (positionals.length < min || positionals.length > max) {
    const want =
      min === max
        ? plural(min, what)
        : max === Infinity
          ? `at least ${plural(min, what)}`
          : `${min}-${max} ${what}s`;
    throw new UsageError(
      positionals.length > max && max === 0
        ? `Unexpected argument "${positionals[0]}".`
        : `Expected ${want}, got ${positionals.length}.`,
    );
  }

  const string = (n: string) => values[n] as string | undefined;
  const number = (n: string, range: { min?: number; max?: number }, whole: boolean) => {
    const v = string(n);
    if (v === undefined) return undefined;
    const x = Number(v);
    const lo = range.min ?? -Infinity;
    const hi = range.max ?? Infinity;
    if (v.trim() === '' || !Number.isFinite(x) || (whole && !Number.isInteger(x)) || x < lo || x > hi) {
      const kind = whole ? 'a whole number' : 'a number';
      const bounds =
        lo > -Infinity && hi < Infinity
          ? ` from ${lo} to ${hi}`
          : lo > -Infinity
            ? ` of at least ${lo}`
            : hi < Infinity
              ? ` of at most ${hi}`
              : '';
      throw new UsageError(`--${n} must be ${kind}${bounds}, got "${v}".`, 'bad_option_value');
    }
    return x;
  };
  return {
    positionals,
    string,
    flag: (n) => values[n] === true,
    list: (n) => (values[n] as string[] | undefined) ?? [],
    int: (n, range = {}) => number(n, range, true),
    number: (n, range = {}) => number(n, range, false),
    choice<T extends string>(n: string, choices: readonly T[]): T | undefined {
      const v = string(n);
      if (v === undefined || (choices as readonly string[]).includes(v)) return v as T | undefined;
      const words =
        choices.length > 1 ? `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}` : choices[0];
      throw new UsageError(`--${n} must be ${words}, got "${v}".`, 'bad_option_value');
    },
  };
}
