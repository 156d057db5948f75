/**
 * Following a job: workers' change notices (queue/progress-feed.ts) wake the tracker, so stage
 * edits arrive as the stages pass, not on a polling clock; the periodic read is only a fallback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { trackJob } from '../../bot/progress.ts';
import { producerServices } from '../../bot/services.ts';
import type { JobProcessor } from '../../queue/jobs/index.ts';
import { Producer } from '../../queue/producer.ts';
import { JobWorker } from '../../queue/worker.ts';
import { cleanup, target, testOptions } from '../queue/helpers.ts';
import { RecordingDeliverer } from '../queue/recording-deliverer.ts';

const opts = testOptions();
const stop: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const s of stop.splice(0).reverse()) await s();
  await cleanup(opts);
});

/** Three stages 300 ms apart, then a result. */
const staged: JobProcessor<'generate'> = async (ctx) => {
  for (const [i, stage] of ['plan', 'generate', 'post-process'].entries()) {
    ctx.progress(stage, 20 + 30 * i);
    await new Promise((r) => setTimeout(r, 300));
  }
  return { images: [], scores: [] };
};

describe('progress tracking', () => {
  it('renders each stage as it passes although the periodic read is a minute away', async () => {
    const producer = new Producer(opts);
    const worker = new JobWorker(opts, {
      queues: ['gpu-sd15', 'deliver'],
      deliverers: { telegram: new RecordingDeliverer() },
      processors: { generate: { kind: 'inline', run: staged } },
    });
    await worker.start();
    stop.push(
      () => producer.close(),
      () => worker.close(500),
    );
    const services = producerServices(producer);
    const { id } = await producer.enqueue(
      'generate',
      { user: 'tg-71', target: target('tg-71'), mode: 'zero-shot', style: 'x' },
      { idempotencyKey: 'tg-progress-1' },
    );
    const lines: Array<{ at: number; text: string }> = [];
    const started = Date.now();
    const end = await trackJob(
      services,
      id,
      'Portraits',
      'en',
      async (text) => {
        lines.push({ at: Date.now() - started, text });
      },
      { intervalMs: 60_000, maxMs: 20_000 },
    );
    expect(end?.state).toBe('completed');
    // Every stage was seen, by its name in the user's language, and the whole job was followed in
    // about its own run time.
    for (const stage of ['drawing', 'fitting your face and ranking'])
      expect(
        lines.some((l) => l.text.includes(stage)),
        stage,
      ).toBe(true);
    expect(lines[lines.length - 1].at).toBeLessThan(10_000);
  });
});
