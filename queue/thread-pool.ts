/**
 * A small pool of worker threads for processors that run inference. One task per thread at a
 * time (ONNX Runtime blocks the thread it runs on); tasks queue when all threads are busy. A
 * cancelled task that does not stop within the grace period has its thread terminated and
 * replaced; a crashed thread fails its task as a retryable error.
 */
import { Worker } from 'node:worker_threads';
import {
  CancelledError,
  ConfigError,
  FacechainError,
  InputError,
  ModelError,
  NotAvailableError,
  ServiceError,
} from '../base/errors.ts';
import { log } from '../base/log.ts';
import type { ArtifactsLocation } from '../core/storage/open-store.ts';
import type { ProcessorContext, ProgressExtra } from './jobs/define.ts';
import type { ErrorInfo, FromThread, RunMessage } from './thread-main.ts';

const logger = log('thread-pool');

interface Task {
  id: number;
  msg: RunMessage;
  signal: AbortSignal;
  onProgress: (stage: string, percent: number, extra?: ProgressExtra) => void;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  task?: Task;
  killTimer?: NodeJS.Timeout;
}

/** Rebuild the project's error class from what the thread posted, so retry rules still apply. */
export function rebuildError(info: ErrorInfo): Error {
  const code = info.code ?? 'internal';
  switch (info.className) {
    case 'InputError':
      return new InputError(code, info.message);
    case 'ModelError':
      return new ModelError(code, info.message);
    case 'ConfigError':
      return new ConfigError(code, info.message);
    case 'ServiceError':
      return new ServiceError(code, info.message, { retryable: info.retryable });
    case 'CancelledError':
      return new CancelledError(info.message);
    case 'NotAvailableError': {
      const e = new FacechainError(code, info.message);
      Object.setPrototypeOf(e, NotAvailableError.prototype);
      e.name = 'NotAvailableError';
      return e;
    }
    default:
      return info.code
        ? new FacechainError(code, info.message, { retryable: info.retryable })
        : new Error(info.message);
  }
}

export class ThreadPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Task[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    readonly size: number,
    /** The artifact store the threads open (a local folder, or an S3 bucket's settings). */
    private readonly artifacts: ArtifactsLocation | string,
    private readonly abortGraceMs = 5000,
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./thread-boot.js', import.meta.url), {
      workerData: {
        entry: new URL('./thread-main.ts', import.meta.url).href,
        artifacts: this.artifacts,
      },
    });
    const slot: Slot = { worker };
    worker.on('message', (m: FromThread) => this.onMessage(slot, m));
    worker.on('error', (e) => logger.error({ err: e }, 'worker thread error'));
    worker.on('exit', (code) => this.onExit(slot, code));
    worker.unref();
    return slot;
  }

  private onMessage(slot: Slot, m: FromThread): void {
    const t = slot.task;
    if (!t || t.id !== m.id) return;
    if (m.type === 'progress') {
      t.onProgress(m.stage, m.percent, m.extra);
      return;
    }
    this.finish(slot);
    if (m.type === 'done') t.resolve(m.result);
    else t.reject(rebuildError(m.error));
  }

  private onExit(slot: Slot, code: number): void {
    const t = slot.task;
    this.finish(slot);
    const i = this.slots.indexOf(slot);
    if (i >= 0 && !this.closed) this.slots[i] = this.spawn();
    if (t)
      t.reject(
        t.signal.aborted
          ? new CancelledError()
          : new ServiceError('worker_thread_crashed', `The worker thread stopped (exit code ${code}).`),
      );
    this.pump();
  }

  private finish(slot: Slot): void {
    clearTimeout(slot.killTimer);
    slot.killTimer = undefined;
    slot.task = undefined;
    queueMicrotask(() => this.pump());
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.task || this.waiting.length === 0) continue;
      const t = this.waiting.shift() as Task;
      if (t.signal.aborted) {
        t.reject(new CancelledError());
        continue;
      }
      slot.task = t;
      slot.worker.postMessage(t.msg);
    }
  }

  /** Run `exportName` of `module` (a file URL) in a thread with the given context. */
  run(
    module: string,
    exportName: string,
    ctx: Omit<ProcessorContext, 'signal' | 'progress' | 'artifacts'>,
    signal: AbortSignal,
    onProgress: (stage: string, percent: number, extra?: ProgressExtra) => void,
  ): Promise<unknown> {
    if (this.closed) return Promise.reject(new ServiceError('pool_closed', 'The worker is shutting down.'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const task: Task = {
        id,
        msg: { type: 'run', id, module, exportName, ctx },
        signal,
        onProgress,
        resolve,
        reject,
      };
      signal.addEventListener(
        'abort',
        () => {
          const slot = this.slots.find((s) => s.task === task);
          if (!slot) return;
          slot.worker.postMessage({ type: 'abort', id });
          // A stage that never checks its signal: take the thread down and replace it.
          slot.killTimer = setTimeout(() => void slot.worker.terminate(), this.abortGraceMs);
        },
        { once: true },
      );
      this.waiting.push(task);
      this.pump();
    });
  }

  get busy(): number {
    return this.slots.filter((s) => s.task).length;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.waiting.splice(0))
      t.reject(new ServiceError('pool_closed', 'The worker is shutting down.'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
