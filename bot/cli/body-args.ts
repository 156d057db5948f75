/**
 * Shared by `pose`, `segment` and `tryon`: option parsing that refuses unknown options, and
 * errors printed as one JSON line ({"error": {"code", "message"}}) with exit 2 for usage mistakes
 * and 1 for everything else.
 */
import { errorInfo } from '../../core/errors.ts';

export class UsageError extends Error {
  readonly code = 'usage';
}

export interface ParsedArgs {
  files: string[];
  values: Map<string, string>;
  flags: Set<string>;
}

/** `valued` options take the next argument; `flags` take none; anything else starting with -- is refused. */
export function parseArgs(argv: string[], valued: string[], flags: string[], usage: string): ParsedArgs {
  const out: ParsedArgs = { files: [], values: new Map(), flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (valued.includes(a)) {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value. usage: ${usage}`);
      out.values.set(a, v);
      i++;
    } else if (flags.includes(a)) out.flags.add(a);
    else if (a.startsWith('--')) throw new UsageError(`Unknown option ${a}. usage: ${usage}`);
    else out.files.push(a);
  }
  return out;
}

/** Print an error line and return the exit code for it. */
export function printError(e: unknown, extra: Record<string, unknown> = {}): number {
  const info = e instanceof UsageError ? { code: 'usage', message: e.message } : errorInfo(e);
  process.stdout.write(`${JSON.stringify({ ...extra, error: info })}\n`);
  return e instanceof UsageError ? 2 : 1;
}

export const r1 = (v: number) => Math.round(v * 10) / 10;
export const r3 = (v: number) => Math.round(v * 1000) / 1000;

/** Read a file, as an InputError-like failure with code unreadable_file. */
export async function readInput(file: string): Promise<Uint8Array> {
  const { readFile } = await import('node:fs/promises');
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    const { InputError } = await import('../../core/errors.ts');
    throw new InputError(
      'unreadable_file',
      `Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`,
    );
  }
}
