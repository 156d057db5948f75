/**
 * A small crowd through the real stack (bench/crowd.ts, small): a private Redis, two bots' bot
 * processes and one worker process started as `npm start` starts them, users on the Telegram
 * and Discord stand-ins sending /start, /consent, photos, template requests, /status and
 * /cancel. Every update is answered exactly once and every queued request delivered exactly
 * once (or cancelled by its user); nothing is sent twice.
 *
 * Two bots share the Redis, its key prefix and the worker: Telegram update ids are unique per
 * bot only (both stand-ins count from 1000), so this is also the test that a bot's "already
 * seen" keys, job ids and replies never touch the other's.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type CrowdReport, runCrowd } from '../../bench/crowd/run.ts';

describe('a crowd through the real stack, two bots on one Redis', () => {
  let r: CrowdReport;
  beforeAll(async () => {
    r = await runCrowd({ users: 10, updates: 50, seconds: 6, seed: 7, bots: 2, drainSeconds: 40 });
  }, 90_000);

  const show = (l: CrowdReport['verdict']['unanswered']) =>
    l.map((s) => `bot${s.bot} ${s.platform} ${s.action}: ${s.answer} +${s.later.length}`);

  it('answers every update once and delivers every request once', () => {
    const v = r.verdict;
    expect(v.updates).toBe(50);
    expect(show(v.unanswered)).toEqual([]);
    expect(show(v.missing)).toEqual([]);
    expect(show(v.duplicates)).toEqual([]);
    expect(v.badAcks).toEqual([]);
    expect(v.answered).toBe(50);
    expect(v.queued).toBeGreaterThan(3);
    expect(v.delivered + v.cancelled).toBe(v.queued);
    expect(r.strays).toEqual([]);
    expect(r.logs.errors).toBe(0);
  });

  it('keeps two bots apart although their update ids collide', () => {
    const sent = r.sent.filter((s) => s.platform === 'telegram');
    const ids = (bot: number) => new Set(sent.filter((s) => s.bot === bot).map((s) => s.updateId));
    const shared = [...ids(0)].filter((id) => ids(1).has(id));
    expect(shared.length).toBeGreaterThan(0);
    for (const bot of [0, 1]) {
      const mine = r.sent.filter((s) => s.bot === bot);
      expect(mine.length).toBeGreaterThan(5);
      expect(mine.filter((s) => s.answer !== undefined)).toHaveLength(mine.length);
    }
  });

  it('measured every process from /proc', () => {
    expect(r.processes.map((p) => p.name).sort()).toEqual(['bot0', 'bot1', 'redis', 'worker0']);
    for (const p of r.processes) expect(p.rssPeakMb).toBeGreaterThan(1);
  });
});
