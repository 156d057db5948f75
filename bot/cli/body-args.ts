/**
 * Shared by `pose`, `segment` and `tryon`, which answer in JSON lines (issue 12): options are
 * parsed by the one command-line parser (args.ts); a wrong command line is a UsageError (exit 2,
 * message and usage on stderr, bot/cli/main.ts), and any other error is printed as
 * {"error": {"code", "message"}} on stdout with exit 1, as `analyze` does.
 */
import { errorInfo, InputError } from '../../base/errors.ts';
import { UsageError } from './args.ts';

export { parseCommandLine, UsageError } from './args.ts';

/** Print an error line and return the exit code for it; a usage error goes on to bot/cli/main.ts. */
export function printError(e: unknown, extra: Record<string, unknown> = {}): number {
  if (e instanceof UsageError) throw e;
  process.stdout.write(`${JSON.stringify({ ...extra, error: errorInfo(e) })}\n`);
  return 1;
}

export const r1 = (v: number) => Math.round(v * 10) / 10;
export const r3 = (v: number) => Math.round(v * 1000) / 1000;

/** Read a file; a missing or unreadable one is an InputError with code unreadable_file. */
export async function readInput(file: string): Promise<Uint8Array> {
  const { readFile } = await import('node:fs/promises');
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    throw new InputError(
      'unreadable_file',
      `Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`,
    );
  }
}
