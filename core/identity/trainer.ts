/**
 * Runs the operator's face-LoRA trainer (FACECHAIN_TRAINER_CMD) as a child process: no shell,
 * a minimal environment (the bot's tokens never reach it), a deadline, cancellation, and
 * progress parsed from its output ("N/M" as tqdm and most trainers print it).
 *
 * Contract: the command line is split on spaces (quotes group words) and gets these arguments
 * appended, FaceChain's training settings (shared/reference/FACECHAIN.md):
 *   --dataset DIR      images/0.png … + metadata.jsonl ({"file_name", "text"}; also in images/)
 *   --output FILE      where to write the LoRA (.safetensors, SD 1.5 UNet attention layers)
 *   --steps N --rank 4 --alpha 32 --learning-rate 1.5e-4 --lr-scheduler cosine
 *   --resolution 512 --seed 42 --trigger <fcsks>
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { CancelledError, FacechainError, ModelError } from '../../base/errors.ts';
import { log } from '../../base/log.ts';
import { TRIGGER_TOKEN } from './caption.ts';

const logger = log('trainer');

/** Environment variables a trainer may need; nothing else of the bot's environment is passed. */
const PASSED_ENV = [
  'PATH',
  'HOME',
  'LANG',
  'LC_ALL',
  'TMPDIR',
  'CUDA_VISIBLE_DEVICES',
  'PYTHONPATH',
  'VIRTUAL_ENV',
  'HF_HOME',
  'MODELSCOPE_CACHE',
];

/** Split a command line into argv without a shell: spaces separate, '…' and "…" group. */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let has = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else cur += ch;
  }
  if (quote) throw new FacechainError('bad_trainer_cmd', 'FACECHAIN_TRAINER_CMD has an unclosed quote.');
  if (has || cur) out.push(cur);
  return out;
}

export interface TrainRequest {
  dataset: string;
  output: string;
  steps: number;
  timeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
}

export function trainerArgs(r: Pick<TrainRequest, 'dataset' | 'output' | 'steps'>): string[] {
  return [
    '--dataset',
    r.dataset,
    '--output',
    r.output,
    '--steps',
    String(r.steps),
    '--rank',
    '4',
    '--alpha',
    '32',
    '--learning-rate',
    '1.5e-4',
    '--lr-scheduler',
    'cosine',
    '--resolution',
    '512',
    '--seed',
    '42',
    '--trigger',
    TRIGGER_TOKEN,
  ];
}

/** The last "N/M" on a line, as a fraction (tqdm: " 40%|████ | 320/800 [...]"). */
export function parseProgress(line: string): number | undefined {
  let last: number | undefined;
  for (const m of line.matchAll(/(\d+)\s*\/\s*(\d+)/g)) {
    const n = Number(m[1]);
    const d = Number(m[2]);
    if (d > 0 && n <= d) last = n / d;
  }
  return last;
}

function stop(child: ChildProcess): void {
  child.kill('SIGTERM');
  // A trainer that ignores SIGTERM is killed 5 s later.
  setTimeout(
    () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'),
    5000,
  ).unref();
}

/** Run the trainer; resolves when it exits with 0. */
export async function runTrainer(command: string, r: TrainRequest): Promise<void> {
  const [exe, ...pre] = splitCommand(command);
  if (!exe) throw new FacechainError('bad_trainer_cmd', 'FACECHAIN_TRAINER_CMD is empty.');
  const env: Record<string, string> = {};
  for (const k of PASSED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k] as string;
  const child = spawn(exe, [...pre, ...trainerArgs(r)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    shell: false,
  });
  const tail: string[] = [];
  let outcome: 'timeout' | 'cancelled' | undefined;
  const onLine = (chunk: Buffer) => {
    for (const line of chunk.toString().split(/[\r\n]+/)) {
      if (!line.trim()) continue;
      tail.push(line.slice(0, 300));
      if (tail.length > 20) tail.shift();
      const p = parseProgress(line);
      if (p !== undefined) r.onProgress?.(p);
    }
  };
  child.stdout?.on('data', onLine);
  child.stderr?.on('data', onLine);
  const timer = setTimeout(() => {
    outcome = 'timeout';
    stop(child);
  }, r.timeoutMs);
  const abort = () => {
    outcome ??= 'cancelled';
    stop(child);
  };
  r.signal?.addEventListener('abort', abort, { once: true });
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c) => resolve(c));
    }).catch((e: NodeJS.ErrnoException) => {
      throw new ModelError(
        'trainer_missing',
        `The LoRA trainer could not be started (${e.code ?? e.message}). Check FACECHAIN_TRAINER_CMD.`,
      );
    });
    if (outcome === 'cancelled') throw new CancelledError();
    if (outcome === 'timeout')
      throw new FacechainError(
        'trainer_timeout',
        `Training your face model took longer than ${r.timeoutMs >= 120_000 ? `${Math.round(r.timeoutMs / 60_000)} minutes` : `${Math.round(r.timeoutMs / 1000)} seconds`} and was stopped. Please try again later.`,
      );
    if (code !== 0) {
      // The trainer's own last lines, for the operator (paths are the job's scratch folder).
      logger.warn({ code, tail }, 'trainer failed');
      throw new ModelError('trainer_failed', `The LoRA trainer exited with code ${code}.`);
    }
  } finally {
    clearTimeout(timer);
    r.signal?.removeEventListener('abort', abort);
  }
}
