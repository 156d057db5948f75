/**
 * A queue dashboard for facechain-bot: bull-board over the project's BullMQ queues, behind HTTP
 * basic auth, listening on 127.0.0.1 unless told otherwise. Its own package (its dependencies
 * stay out of the bot's install); docs/jobs.md "A queue dashboard" has the set-up, the SSH tunnel
 * and a TLS reverse proxy in front of it.
 *
 *   cd deploy/dashboard && npm ci
 *   DASHBOARD_PASSWORD=$(openssl rand -hex 16) REDIS_URL=redis://127.0.0.1:6379 node server.mjs
 *
 * Settings (environment):
 *   REDIS_URL               the bot's Redis (default redis://127.0.0.1:6379)
 *   FACECHAIN_QUEUE_PREFIX  the bot's key prefix (default fc)
 *   DASHBOARD_QUEUES        queues to show (default: the bot's work queues)
 *   DASHBOARD_USER          basic-auth user (default admin)
 *   DASHBOARD_PASSWORD      basic-auth password, at least 16 characters: required
 *   DASHBOARD_HOST, _PORT   where to listen (default 127.0.0.1:3000)
 *   DASHBOARD_ACTIONS       "true" allows retry, promote, clean and remove; default read-only
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import express from 'express';

/** The bot's BullMQ queues (queue/jobs/define.ts QUEUES without 'deliver', a Redis stream). */
export const DEFAULT_QUEUES = 'cpu,gpu-sd15,gpu-talk';

const env = process.env;
const redisUrl = env.REDIS_URL || 'redis://127.0.0.1:6379';
const prefix = env.FACECHAIN_QUEUE_PREFIX || 'fc';
const names = (env.DASHBOARD_QUEUES || DEFAULT_QUEUES)
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const user = env.DASHBOARD_USER || 'admin';
const password = env.DASHBOARD_PASSWORD ?? '';
const host = env.DASHBOARD_HOST || '127.0.0.1';
const port = Number(env.DASHBOARD_PORT || 3000);
const readOnlyMode = env.DASHBOARD_ACTIONS !== 'true';
const basePath = '/queues';

if (password.length < 16) {
  process.stderr.write(
    'DASHBOARD_PASSWORD must be set, at least 16 characters (e.g. DASHBOARD_PASSWORD=$(openssl rand -hex 16)).\n',
  );
  process.exit(2);
}

// Hash both sides so the comparison takes the same time whatever the lengths.
const digest = (s) => createHash('sha256').update(s).digest();
const expected = digest(`${user}:${password}`);
function authorized(header) {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!m) return false;
  return timingSafeEqual(digest(Buffer.from(m[1], 'base64').toString('utf8')), expected);
}

const url = new URL(redisUrl);
const connection = {
  host: url.hostname,
  port: Number(url.port || 6379),
  ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
  ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
  ...(url.pathname.length > 1 ? { db: Number(url.pathname.slice(1)) } : {}),
  ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
};
const queues = names.map((name) => new Queue(name, { connection, prefix }));

const serverAdapter = new ExpressAdapter();
serverAdapter.setBasePath(basePath);
createBullBoard({
  queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode })),
  serverAdapter,
  options: { uiConfig: { boardTitle: `facechain (${prefix})` } },
});

const app = express();
app.disable('x-powered-by');
app.use((req, res, next) => {
  if (authorized(req.headers.authorization)) return next();
  res.set('WWW-Authenticate', 'Basic realm="facechain queues", charset="UTF-8"');
  res.status(401).send('Authentication required.\n');
});
app.get('/', (_req, res) => res.redirect(basePath));
app.use(basePath, serverAdapter.getRouter());

const server = app.listen(port, host, () => {
  const where = server.address();
  process.stderr.write(
    `queue dashboard on http://${host}:${where.port}${basePath} (${names.join(', ')} under "${prefix}", ${readOnlyMode ? 'read-only' : 'actions allowed'})\n`,
  );
});

const stop = async () => {
  server.close();
  await Promise.allSettled(queues.map((q) => q.close()));
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
