/**
 * Prometheus metrics of the job layer: jobs by outcome and name, durations, stalls, queue depth
 * by state (read from Redis at scrape time) and event-loop lag (the figure that tells whether
 * inference is leaking onto the main thread).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import client from 'prom-client';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: 'facechain_' });

export const jobsTotal = new client.Counter({
  name: 'facechain_jobs_total',
  help: 'Jobs finished by this process, by queue, name and outcome (completed, failed, cancelled, retry)',
  labelNames: ['queue', 'name', 'outcome'] as const,
  registers: [registry],
});

export const jobDuration = new client.Histogram({
  name: 'facechain_job_duration_seconds',
  help: 'Processing time of completed jobs',
  labelNames: ['queue', 'name'] as const,
  buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900],
  registers: [registry],
});

export const stalledTotal = new client.Counter({
  name: 'facechain_jobs_stalled_total',
  help: 'Jobs this process found stalled (lock lost) and moved back to wait',
  labelNames: ['queue'] as const,
  registers: [registry],
});

const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

/** Max and p99 event-loop delay since the last reset, in milliseconds. */
export function eventLoopLag(reset = false): { maxMs: number; p99Ms: number; meanMs: number } {
  const v = { maxMs: loop.max / 1e6, p99Ms: loop.percentile(99) / 1e6, meanMs: loop.mean / 1e6 };
  if (reset) loop.reset();
  return v;
}

new client.Gauge({
  name: 'facechain_event_loop_lag_max_seconds',
  help: 'Maximum event-loop delay since the previous scrape',
  registers: [registry],
  collect() {
    this.set(eventLoopLag(true).maxMs / 1000);
  },
});

type DepthSource = () => Promise<Array<{ queue: string; counts: Record<string, number> }>>;
const depthSources = new Set<DepthSource>();

/** Register a function that reads queue depths (a worker or producer does on start). */
export function addDepthSource(fn: DepthSource): () => void {
  depthSources.add(fn);
  return () => depthSources.delete(fn);
}

new client.Gauge({
  name: 'facechain_queue_jobs',
  help: 'Jobs in each queue by state',
  labelNames: ['queue', 'state'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    for (const src of depthSources) {
      for (const { queue, counts } of await src().catch(() => [])) {
        for (const [state, n] of Object.entries(counts)) this.set({ queue, state }, n);
      }
    }
  },
});
