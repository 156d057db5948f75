/** Start a worker in a child process (test/queue/worker-process.ts) and wait until it takes jobs. */
import { type ChildProcess, spawn } from 'node:child_process';
import type { JobSystemOptions } from '../../queue/system.ts';

export const children: ChildProcess[] = [];

export function startWorkerProcess(
  o: JobSystemOptions,
  queues: string,
  stageMs: number,
  stages: number,
  deadlineMs = 5000,
) {
  const child = spawn(
    process.execPath,
    [
      'bin/run-ts.js',
      'test/queue/worker-process.ts',
      JSON.stringify(o),
      queues,
      String(stageMs),
      String(stages),
      String(deadlineMs),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FACECHAIN_LOG_LEVEL: 'error' } },
  );
  children.push(child);
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`worker process exited early (${code})`)));
  });
  return { child, ready };
}

export function killChildren(): void {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
}
