/**
 * The queue dashboard example (deploy/dashboard, docs/jobs.md) keeps up with the bot: it shows
 * the bot's BullMQ queues by default, uses a BullMQ of the same major version (the key layout),
 * and its dependencies stay in its own package.json, out of the bot's install. Running it needs
 * its own `npm ci`, so the suite checks these facts rather than starting it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { QUEUES } from '../../queue/jobs/index.ts';

const server = readFileSync('deploy/dashboard/server.mjs', 'utf8');
const pkg = JSON.parse(readFileSync('deploy/dashboard/package.json', 'utf8'));
const root = JSON.parse(readFileSync('package.json', 'utf8'));
const major = (range: string) => /\d+/.exec(range)?.[0];

describe('queue dashboard example', () => {
  it("shows the bot's BullMQ queues by default (not the deliver stream)", () => {
    const m = /export const DEFAULT_QUEUES = '([^']+)'/.exec(server);
    expect(m?.[1].split(',')).toEqual(QUEUES.filter((q) => q !== 'deliver'));
  });

  it("uses the bot's BullMQ major version and the bot's prefix setting", () => {
    expect(major(pkg.dependencies.bullmq)).toBe(major(root.dependencies.bullmq));
    expect(server).toContain("env.FACECHAIN_QUEUE_PREFIX || 'fc'");
  });

  it("keeps bull-board and express out of the bot's package.json", () => {
    const all = { ...root.dependencies, ...root.devDependencies };
    for (const name of Object.keys(pkg.dependencies).filter((n) => n !== 'bullmq'))
      expect(all).not.toHaveProperty(name);
  });

  it('listens on localhost and refuses to start without a strong password', () => {
    expect(server).toContain("env.DASHBOARD_HOST || '127.0.0.1'");
    expect(server).toMatch(/password\.length < 16[\s\S]*process\.exit\(2\)/);
    expect(server).toContain("readOnlyMode = env.DASHBOARD_ACTIONS !== 'true'");
  });
});
