import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startHealthServer } from '../../queue/health.ts';

describe('health endpoint', () => {
  it('answers liveness, readiness with reasons, metrics, and says when its port is taken', async () => {
    let problems: string[] = ['redis: down'];
    const h = await startHealthServer({ port: 0, host: '127.0.0.1', readiness: async () => problems });
    try {
      const base = `http://127.0.0.1:${h.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const notReady = await fetch(`${base}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.text()).toBe('redis: down\n');
      problems = [];
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/# TYPE facechain_jobs_total counter/);
      expect(metrics).toMatch(/facechain_event_loop_lag_max_seconds \d/);
      expect((await fetch(`${base}/nope`)).status).toBe(404);
      const taken = http.createServer().listen(0, '127.0.0.1');
      await new Promise((r) => taken.once('listening', r));
      const port = (taken.address() as AddressInfo).port;
      const err = await startHealthServer({ port, host: '127.0.0.1', readiness: async () => [] }).catch(
        (e) => e,
      );
      taken.close();
      expect(err.code).toBe('health_port_in_use');
      expect(err.message).toMatch(/FACECHAIN_HEALTH_PORT/);
    } finally {
      await h.close();
    }
  });
});
