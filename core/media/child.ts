/**
 * Running an outside program (ffmpeg, ffprobe, eSpeak NG) as a separate process: argument arrays
 * and no shell, a deadline, a kill on cancel, bounded output. GPL tools stay out of this process
 * (docs/DECISIONS.md, "Speech, audio and video").
 */
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { CancelledError, type FacechainError, ServiceError } from '../../base/errors.ts';

export interface ChildOptions {
  /** Short name for messages ("ffmpeg"). */
  name: string;
  /** Kill the process past this many milliseconds. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** stdio layout; extra entries become fds 3, 4, ... (default: stdin, stdout, stderr pipes). */
  stdio?: StdioOptions;
  /** The error to throw when the executable is not installed. */
  missing: () => FacechainError;
}

export interface ChildExit {
  code: number | null;
  /** The last few kilobytes of stderr (tools' own messages; never logged at info level). */
  stderr: string;
}

const STDERR_TAIL = 8192;

/** What the tools need from the environment, and nothing else (no bot tokens, no Redis URL). */
const PASSED_ENV = [
  'PATH',
  'LANG',
  'LC_ALL',
  'TMPDIR',
  'HOME',
  'ESPEAK_DATA_PATH',
  'FONTCONFIG_PATH',
  'LD_LIBRARY_PATH',
];

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { AV_LOG_FORCE_NOCOLOR: '1' };
  for (const k of PASSED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k];
  return env;
}

/**
 * A started child process. `exit` resolves when it ends; it rejects with CancelledError on abort,
 * a ServiceError 'media_timeout' past the deadline, or `missing()` when the program is absent.
 */
export class Child {
  readonly process: ChildProcess;
  readonly exit: Promise<ChildExit>;
  private stopReason: FacechainError | undefined;

  constructor(exe: string, args: readonly string[], o: ChildOptions) {
    if (o.signal?.aborted) throw new CancelledError();
    this.process = spawn(exe, args, {
      stdio: o.stdio ?? ['pipe', 'pipe', 'pipe'],
      shell: false,
      windowsHide: true,
      env: childEnv(),
    });
    let stderr = '';
    this.process.stderr?.setEncoding('utf8');
    this.process.stderr?.on('data', (d: string) => {
      stderr = (stderr + d).slice(-STDERR_TAIL);
    });
    const onAbort = () => this.kill(new CancelledError());
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () =>
        this.kill(
          new ServiceError(
            'media_timeout',
            `${o.name} did not finish within ${Math.round(o.timeoutMs / 1000)} s.`,
            {
              context: { program: o.name, timeoutMs: o.timeoutMs },
              retryable: false,
            },
          ),
        ),
      o.timeoutMs,
    );
    timer.unref();
    this.exit = new Promise<ChildExit>((resolve, reject) => {
      this.process.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        reject(e.code === 'ENOENT' || e.code === 'EACCES' ? o.missing() : (this.stopReason ?? e));
      });
      this.process.once('close', (code) => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        if (this.stopReason) reject(this.stopReason);
        else resolve({ code, stderr });
      });
    });
    // Pipes closed early by the child (it failed, or was killed) must not crash the process.
    for (const s of this.process.stdio) s?.on('error', () => {});
  }

  /** Stop the process now (SIGKILL: nothing of a half-written output is worth flushing). */
  kill(reason: FacechainError): void {
    this.stopReason ??= reason;
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGKILL');
  }
}

/** Run to completion with optional stdin bytes; stdout collected up to `maxStdoutBytes`. */
export async function runChild(
  exe: string,
  args: readonly string[],
  o: ChildOptions & { stdin?: Uint8Array | string; maxStdoutBytes?: number },
): Promise<ChildExit & { stdout: Buffer }> {
  const child = new Child(exe, args, { ...o, stdio: ['pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let size = 0;
  const max = o.maxStdoutBytes ?? 64 * 1024 * 1024;
  child.process.stdout?.on('data', (d: Buffer) => {
    size += d.length;
    if (size > max) {
      child.kill(
        new ServiceError('media_output_too_large', `${o.name} produced more than ${max} bytes.`, {
          context: { program: o.name, max },
          retryable: false,
        }),
      );
      return;
    }
    chunks.push(d);
  });
  child.process.stdin?.end(o.stdin);
  const exit = await child.exit;
  return { ...exit, stdout: Buffer.concat(chunks) };
}
