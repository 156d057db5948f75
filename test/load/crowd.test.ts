/**
 * A small crowd through the real stack (bench/crowd.ts, small): a private Redis, the bot process
 * and a worker process started as `npm start` starts them, users on the Telegram and Discord
 * stand-ins sending /start, /consent, /status, photos, template requests and /cancel. Every update
 * is answered exactly once and every queued request delivered exactly once (or cancelled by its
 * user); nothing is sent twice.
 */
import { describe, expect, it } from 'vitest';
import { runCrowd } from '../../bench/crowd/run.ts';

describe('crowd through the real stack', () => {
  it('8 users, 48 updates on Telegram and Discord: each answered once, each request delivered once', async () => {
    const r = await runCrowd({ users: 8, updates: 48, seconds: 8, seed: 7, drainSeconds: 40 });
    const v = r.verdict;
    const show = (l: typeof v.unanswered) =>
      l.map((s) => `${s.platform} ${s.action}: ${s.answer} +${s.later.length}`);
    expect(v.updates).toBe(48);
    expect(show(v.unanswered)).toEqual([]);
    expect(show(v.missing)).toEqual([]);
    expect(show(v.duplicates)).toEqual([]);
    expect(v.badAcks).toEqual([]);
    expect(v.answered).toBe(48);
    // The mix did queue work, and it came back.
    expect(v.queued).toBeGreaterThan(3);
    expect(v.delivered + v.cancelled).toBe(v.queued);
    expect(r.strays).toEqual([]);
    // Every process of the stack was measured from /proc.
    expect(r.processes.map((p) => p.name).sort()).toEqual(['bot0', 'redis', 'worker0']);
    expect(r.logs.errors).toBe(0);
  }, 90_000);
});
