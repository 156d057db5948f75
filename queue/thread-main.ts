/**
 * Runs inside a worker thread: loads processor modules on demand and runs one task at a time,
 * posting progress back and honouring abort messages. ONNX Runtime may block this thread; the
 * main thread keeps renewing BullMQ locks meanwhile.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FacechainError } from '../base/errors.ts';
import { type ArtifactsLocation, openArtifactStore } from '../core/storage/open-store.ts';
import type { ProcessorContext, ProcessorFn, ProgressExtra } from './jobs/define.ts';

export interface RunMessage {
  type: 'run';
  id: number;
  module: string;
  exportName: string;
  ctx: Omit<ProcessorContext, 'signal' | 'progress' | 'artifacts'>;
}
export type ToThread = RunMessage | { type: 'abort'; id: number };
export type ErrorInfo = { className: string; code?: string; message: string; retryable?: boolean };
export type FromThread =
  | { type: 'progress'; id: number; stage: string; percent: number; extra?: ProgressExtra }
  | { type: 'done'; id: number; result: unknown }
  | { type: 'error'; id: number; error: ErrorInfo };

const port = parentPort;
if (!port) throw new Error('thread-main.ts must run in a worker thread');
const artifacts = openArtifactStore((workerData as { artifacts: ArtifactsLocation | string }).artifacts);
const controllers = new Map<number, AbortController>();
const post = (m: FromThread) => port.postMessage(m);

async function run(msg: RunMessage): Promise<void> {
  const controller = new AbortController();
  controllers.set(msg.id, controller);
  try {
    const mod = (await import(msg.module)) as Record<string, ProcessorFn>;
    const fn = mod[msg.exportName];
    if (typeof fn !== 'function') throw new Error(`${msg.module} has no export "${msg.exportName}"`);
    const result = await fn({
      ...msg.ctx,
      signal: controller.signal,
      artifacts,
      progress: (stage, percent, extra) =>
        post({ type: 'progress', id: msg.id, stage, percent, ...(extra ? { extra } : {}) }),
    } as ProcessorContext);
    post({ type: 'done', id: msg.id, result });
  } catch (e) {
    const err = e as Error;
    post({
      type: 'error',
      id: msg.id,
      error: {
        className: err?.constructor?.name ?? 'Error',
        code: e instanceof FacechainError ? e.code : undefined,
        message: err?.message ?? String(e),
        retryable: e instanceof FacechainError ? e.retryable : undefined,
      },
    });
  } finally {
    controllers.delete(msg.id);
  }
}

port.on('message', (msg: ToThread) => {
  if (msg.type === 'run') void run(msg);
  else controllers.get(msg.id)?.abort();
});
