/** A real producer + worker (cpu, gpu-sd15, deliver) on a fresh key prefix, with a recording deliverer. */
import { readFileSync } from 'node:fs';
import type { Producer as ProducerT } from '../../queue/producer.ts';
import { Producer } from '../../queue/producer.ts';
import type { JobSystemOptions } from '../../queue/system.ts';
import { JobWorker, type JobWorkerOptions } from '../../queue/worker.ts';
import { cleanup, target, testOptions, until } from '../queue/helpers.ts';
import { RecordingDeliverer } from '../queue/recording-deliverer.ts';

export const photo = (name: string): Buffer =>
  readFileSync(new URL(`../fixtures/faces/${name}`, import.meta.url));

export interface Harness {
  opts: JobSystemOptions;
  producer: ProducerT;
  worker: JobWorker;
  deliverer: RecordingDeliverer;
  close(): Promise<void>;
}

export async function startHarness(
  over: Partial<JobSystemOptions> = {},
  w: Partial<JobWorkerOptions> = {},
): Promise<Harness> {
  const opts = testOptions(over);
  const producer = new Producer(opts);
  const deliverer = new RecordingDeliverer();
  const worker = new JobWorker(opts, {
    queues: ['cpu', 'gpu-sd15', 'deliver'],
    deliverers: { telegram: deliverer },
    shutdownDeadlineMs: 2000,
    abortGraceMs: 1000,
    ...w,
  });
  await worker.start();
  return {
    opts,
    producer,
    worker,
    deliverer,
    async close() {
      await worker.close(500);
      await producer.close();
      await cleanup(opts);
    },
  };
}

/** Prepare identity `id` of `user` from fixture photos through the real prepare-identity job. */
export async function prepare(h: Harness, user: string, id: string, photos: string[]): Promise<void> {
  const refs = [];
  for (const p of photos)
    refs.push((await h.producer.artifacts.put(user, photo(p), { ext: p.split('.').pop() as string })).ref);
  const before = h.deliverer.deliveries.length;
  await h.producer.enqueue(
    'prepare-identity',
    { user, target: target(user), identityId: id, photos: refs },
    { idempotencyKey: `tg-prep-${id}-${Date.now()}` },
  );
  await until(() => h.deliverer.deliveries.length > before, 90_000);
  const identity = await h.producer.records.getIdentity(user, id);
  if (identity?.status !== 'prepared') throw new Error(`identity ${id} was not prepared`);
}
