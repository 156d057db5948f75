/**
 * Liveness, readiness and Prometheus metrics over HTTP: /healthz (the process and its event
 * loop answer), /readyz (Redis answers and the workers run), /metrics.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../base/errors.ts';
import { log } from '../base/log.ts';
import { registry } from './metrics.ts';

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(opts: {
  port: number;
  host: string;
  /** Reasons the process is not ready; empty when ready. */
  readiness: () => Promise<string[]>;
}): Promise<HealthServer> {
  const server = http.createServer(async (req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    try {
      if (url === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else if (url === '/readyz') {
        const problems = await opts.readiness();
        res
          .writeHead(problems.length ? 503 : 200, { 'content-type': 'text/plain' })
          .end(problems.length ? `${problems.join('\n')}\n` : 'ready\n');
      } else if (url === '/metrics') {
        const body = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType }).end(body);
      } else {
        res
          .writeHead(404, { 'content-type': 'text/plain' })
          .end('not found: try /healthz, /readyz, /metrics\n');
      }
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new ConfigError(
              'health_port_in_use',
              `Port ${opts.port} for health and metrics is in use (another facechain process on this machine?). ` +
                'Set FACECHAIN_HEALTH_PORT to a free port, or to 0 to turn the endpoint off.',
            )
          : e,
      ),
    );
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log('health').info({ port, host: opts.host }, 'health and metrics endpoint listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
