/**
 * A worker in its own process, for crash and restart tests: `node bin/run-ts.js
 * test/queue/worker-process.ts '<json JobSystemOptions>' <queues> <stage ms> <stages> [shutdown deadline ms]`. Its generate
 * processor is the GPU test double (gpu-double.ts).
 * Prints "ready" once it is taking jobs.
 */
import type { QueueName } from '../../queue/jobs/index.ts';
import type { JobSystemOptions } from '../../queue/system.ts';
import { JobWorker } from '../../queue/worker.ts';
import { gpuDouble } from './gpu-double.ts';

const [json, queues, stageMs, stages, deadlineMs = '5000'] = process.argv.slice(2);
const opts = JSON.parse(json) as JobSystemOptions;
const gpu = gpuDouble(Number(stages), Number(stageMs));

const worker = new JobWorker(opts, {
  queues: queues.split(',') as QueueName[],
  concurrency: 4,
  processors: { generate: { kind: 'inline', run: gpu } },
});
await worker.start();
process.stdout.write('ready\n');
process.on('SIGTERM', () => void worker.close(Number(deadlineMs)).then(() => process.exit(0)));
