/**
 * Shared by `pose`, `segment` and `tryon`, which answer in JSON lines (issue 12): options are
 * parsed by the one command-line parser (args.ts), and every error, usage mistakes included, is
 * printed as {"error": {"code", "message"}} on stdout, exit 2 for usage mistakes and 1 otherwise.
 */
import { errorInfo, InputError } from '../../base/errors.ts';
import { UsageError } from './args.ts';

export { parseCommandLine, UsageError } from './args.ts';

/** Print an error line and return the exit code for it. */
export function printError(e: unknown, extra: Record<string, unknown> = {}): number {
  process.stdout.write(`${JSON.stringify({ ...extra, error: errorInfo(e) })}\n`);
  return e instanceof UsageError ? 2 : 1;
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
