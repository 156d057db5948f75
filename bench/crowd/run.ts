/**
 * One crowd run through the real stack (bench/crowd/stack.ts): users send their planned updates
 * through the Telegram and Discord stand-ins at the planned moments; the bots answer through the
 * same stand-ins; the ledger ties every message to its update. Optionally, processes are killed
 * with SIGKILL at random moments and started again (restarts mode). After the last update the
 * run waits (bounded) until every request is answered, then checks exactly-once and collects
 * the figures: acknowledgement and reply times, queue wait, per-process CPU/RSS/open files,
 * Redis memory and keys.
 */
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { deliveredKey } from '../../queue/delivery/entry.ts';
import type { FakeDiscord } from '../../test/bot/fake-discord.ts';
import type { FakeTelegram, TgChat, TgUser } from '../../test/bot/fake-telegram.ts';
import { Ledger, type Sent, type Verdict, verdict } from './ledger.ts';
import { ProcSampler } from './procstat.ts';
import { type RedisSample, RedisSampler } from './redis-stats.ts';
import { type Action, type Planned, plan, rng } from './script.ts';
import { ROOT, Stack } from './stack.ts';

export interface ChaosOptions {
  /** How many kills in the run (spread at random moments of the sending phase). */
  kills: number;
  targets: Array<'bot' | 'worker' | 'redis'>;
  /** How long a killed piece stays down before it is started again (seconds, min and max). */
  downSeconds: [number, number];
}

export interface CrowdOptions {
  users: number;
  updates: number;
  seconds: number;
  seed?: number;
  bots?: number;
  platforms?: Array<'telegram' | 'discord'>;
  workers?: number;
  /** Longest wait for the last answers after the last update (seconds). */
  drainSeconds?: number;
  chaos?: ChaosOptions;
  /** /proc sampling period. */
  sampleMs?: number;
  /** Redis memory/keys sampling period (0: only at the start and end). */
  redisSampleMs?: number;
  env?: Record<string, string>;
  appendfsync?: 'always' | 'everysec';
  /** Read each process's JS heap from its /metrics too (soak). */
  metrics?: boolean;
  /** Keep the run's folder (logs, Redis data) instead of deleting it. */
  keep?: boolean;
  dir?: string;
  /** Progress lines (stderr in the bench). */
  say?: (line: string) => void;
}

export interface CrowdReport {
  options: Omit<CrowdOptions, 'say'>;
  cores: number;
  wallSeconds: number;
  verdict: Verdict;
  /** Every update sent, with what came back (the ledger's records). */
  sent: Sent[];
  /** Discord interactions sent while no bot held the gateway (Discord shows the user "interaction failed"). */
  refusedByPlatform: number;
  kills: Array<{ at: number; atMs: number; target: string; downSeconds: number }>;
  /**
   * Discord interactions a bot process deferred and was killed before answering (within 10 s):
   * the interaction token lived in that process's memory only, so no one can answer them.
   */
  inFlightAtKill: number;
  latency: Record<string, { n: number; p50: number; p99: number; max: number }>;
  queueWait: { n: number; p50: number; p99: number; max: number };
  processing: { n: number; p50: number; p99: number; max: number };
  processes: ReturnType<ProcSampler['summary']>;
  procSamples: ProcSampler['samples'];
  redis: RedisSample[];
  edits: number;
  unattributed: number;
  strays: string[];
  logs: { errors: number; warnings: number; lines: number };
  dir: string;
}

const face = (f: string) => new Uint8Array(readFileSync(path.join(ROOT, 'test/fixtures/faces', f)));

export function pct(xs: number[], p: number): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

function dist(xs: number[]): { n: number; p50: number; p99: number; max: number } {
  return { n: xs.length, p50: pct(xs, 50), p99: pct(xs, 99), max: xs.length ? Math.max(...xs) : Number.NaN };
}

/** The job id a request gets: the job layer derives it from the bot and the update or interaction id. */
export function jobIdOf(s: Sent): string {
  return s.jobId;
}

const TEXT: Record<Exclude<Action, 'photo' | 'template'>, string> = {
  start: '/start',
  consent: '/consent accept',
  status: '/status',
  cancel: '/cancel',
  help: '/help',
};

export async function runCrowd(o: CrowdOptions): Promise<CrowdReport> {
  const say = o.say ?? (() => {});
  const seed = o.seed ?? 1;
  const dir = o.dir ?? path.join(os.tmpdir(), `fc-crowd-${process.pid}-${Date.now()}`);
  const bots = o.bots ?? 1;
  const platforms = o.platforms ?? ['telegram', 'discord'];
  const stack = new Stack({
    dir,
    bots: Array.from({ length: bots }, (_, i) => ({
      ...(platforms.includes('telegram') ? { telegramId: 5_550_001 + i } : {}),
      ...(platforms.includes('discord')
        ? { discordAppId: String(900_000_000_000_000_011n + BigInt(i)) }
        : {}),
    })),
    workers: o.workers ?? 1,
    metrics: o.metrics ?? false,
    appendfsync: o.appendfsync ?? (o.chaos ? 'always' : 'everysec'),
    env: {
      // A crowd sends far more than one person would in a day; the quota is not what is measured.
      FACECHAIN_USER_DAILY_QUOTA: '100000',
      ...o.env,
    },
  });
  const ledger = new Ledger();
  const started = performance.now();
  const kills: CrowdReport['kills'] = [];
  let refusedByPlatform = 0;
  const procs = new ProcSampler(
    () => stack.pids(),
    o.sampleMs ?? 2000,
    (name) => stack.metricsPorts.get(name),
  );
  let redisStats: RedisSampler | undefined;
  const killAll = () => {
    for (const { pid } of stack.pids())
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
  };
  process.once('exit', killAll);
  try {
    say(`starting redis, ${bots} bot process(es), ${o.workers ?? 1} worker(s) in ${dir}`);
    await stack.startAll();
    const photo = face('astronaut.png');
    const template = face('messi5.jpg');
    const tgFiles = new Map<
      FakeTelegram,
      { photo: ReturnType<FakeTelegram['addFile']>; template: ReturnType<FakeTelegram['addFile']> }
    >();
    stack.bots.forEach((slot, b) => {
      if (slot.telegram) {
        const tg = slot.telegram;
        tgFiles.set(tg, { photo: tg.addFile(photo, 'png'), template: tg.addFile(template) });
        tg.onCall = (call) => ledger.onTelegram(b, call, performance.now());
      }
      if (slot.discord) slot.discord.onCall = (call) => ledger.onDiscord(b, call, performance.now());
    });
    for (const slot of stack.bots) await slot.discord?.ready;
    procs.start();
    redisStats = new RedisSampler(stack.redisUrl, stack.prefix, o.redisSampleMs ?? 0);
    await redisStats.start();

    const timeline = plan({
      users: o.users,
      updates: o.updates,
      seconds: o.seconds,
      seed,
      bots,
      platforms,
    });
    say(`sending ${timeline.length} updates from ${o.users} users over ${o.seconds} s`);
    const chaos = o.chaos ? runChaos(stack, o.chaos, o.seconds, seed, kills, say) : Promise.resolve();
    const t0 = performance.now();
    let next = 0;
    let lastSay = t0;
    while (next < timeline.length) {
      const now = (performance.now() - t0) / 1000;
      while (next < timeline.length && timeline[next].at <= now) {
        const p = timeline[next++];
        if (!send(stack, ledger, p, tgFiles, photo, template, next)) refusedByPlatform++;
      }
      if (performance.now() - lastSay > 30_000) {
        lastSay = performance.now();
        say(
          `  ${next}/${timeline.length} sent, ${[...ledger.sent.values()].filter((s) => s.answer !== undefined).length} answered`,
        );
      }
      const wait = next < timeline.length ? (timeline[next].at - now) * 1000 : 0;
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(wait, 200))));
    }
    await chaos;
    say('all sent; waiting for the last answers');
    const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: 3 });
    redis.on('error', () => {});
    try {
      const closed = await drain(ledger, redis, stack.prefix, o.drainSeconds ?? 300, say);
      // A little longer, so late duplicates would be seen.
      await new Promise((r) => setTimeout(r, 3000));
      const v = verdict(
        ledger,
        (s) => closed.cancelled.has(s.key),
        (s) => closed.toChannel.has(s.key),
      );
      const timing = await jobTimes(
        redis,
        stack.prefix,
        [...ledger.sent.values()].filter((s) => ledger.queuedJob(s)),
      );
      procs.stop();
      await redisStats.stop();
      const sent = [...ledger.sent.values()];
      const lat = (pick: (s: Sent) => number | undefined, filter: (s: Sent) => boolean = () => true) =>
        dist(
          sent
            .filter(filter)
            .map(pick)
            .filter((x): x is number => x !== undefined),
        );
      const latency: CrowdReport['latency'] = {
        'ack (telegram: first reply; discord: defer)': lat((s) =>
          s.ackAt !== undefined ? s.ackAt - s.at : undefined,
        ),
        'answer, telegram': lat(
          (s) => (s.answerAt !== undefined ? s.answerAt - s.at : undefined),
          (s) => s.platform === 'telegram',
        ),
        'answer, discord': lat(
          (s) => (s.answerAt !== undefined ? s.answerAt - s.at : undefined),
          (s) => s.platform === 'discord',
        ),
      };
      for (const action of ['status', 'start', 'photo', 'template', 'cancel'] as const)
        latency[`answer to ${action}`] = lat(
          (s) => (s.answerAt !== undefined ? s.answerAt - s.at : undefined),
          (s) => s.action === action,
        );
      for (const action of ['photo', 'template'] as const)
        latency[`delivery of ${action}`] = lat(
          (s) => (s.later[0] ? s.later[0].at - s.at : undefined),
          (s) => s.action === action && ledger.queuedJob(s),
        );
      return {
        options: { ...o, say: undefined } as CrowdReport['options'],
        cores: os.availableParallelism(),
        wallSeconds: (performance.now() - started) / 1000,
        verdict: v,
        sent,
        inFlightAtKill: v.unanswered.filter(
          (s) =>
            s.platform === 'discord' &&
            s.ackAt !== undefined &&
            kills.some(
              (k) =>
                k.target === 'bot' && k.atMs >= (s.ackAt as number) && k.atMs - (s.ackAt as number) < 10_000,
            ),
        ).length,
        refusedByPlatform,
        kills,
        latency,
        queueWait: dist(timing.wait),
        processing: dist(timing.run),
        processes: procs.summary(),
        procSamples: procs.samples,
        redis: redisStats.samples,
        edits: ledger.edits,
        unattributed: ledger.unattributed,
        strays: ledger.strays,
        logs: logCounts(dir, stack),
        dir,
      };
    } finally {
      redis.disconnect();
    }
  } finally {
    procs.stop();
    await redisStats?.stop().catch(() => {});
    await stack.stop();
    process.removeListener('exit', killAll);
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** Hand one planned update to its platform stand-in; false when the platform could not deliver it. */
function send(
  stack: Stack,
  ledger: Ledger,
  p: Planned,
  tgFiles: Map<
    FakeTelegram,
    { photo: ReturnType<FakeTelegram['addFile']>; template: ReturnType<FakeTelegram['addFile']> }
  >,
  photo: Uint8Array,
  template: Uint8Array,
  seq: number,
): boolean {
  const slot = stack.bots[p.user.bot];
  const key = `${seq}`;
  if (p.user.platform === 'telegram') {
    const tg = slot.telegram as FakeTelegram;
    const files = tgFiles.get(tg)!;
    const id = 100_000 + p.user.n;
    const from: TgUser = { id, is_bot: false, first_name: `User${p.user.n}`, language_code: 'en' };
    const chat: TgChat = { id, type: 'private', first_name: from.first_name };
    const extra =
      p.action === 'photo'
        ? { photo: [{ ...files.photo, width: 512, height: 512 }] }
        : p.action === 'template'
          ? { photo: [{ ...files.template, width: 512, height: 512 }], caption: '/template' }
          : { text: TEXT[p.action] };
    const update = tg.message(from, chat, extra);
    const messageId = (update.message as { message_id: number }).message_id;
    // Recorded before it is pushed: the answer can arrive within the same tick.
    const s = {
      key,
      action: p.action,
      platform: 'telegram' as const,
      bot: p.user.bot,
      user: p.user.n,
      at: performance.now(),
      updateId: '',
      jobId: '',
      jobUser: '',
    };
    ledger.addTelegram(p.user.bot, id, messageId, s);
    const updateId = tg.push(update);
    const rec = ledger.sent.get(key);
    if (rec) {
      rec.updateId = String(updateId);
      rec.jobId = `tg-${tg.botId}-u${updateId}`;
      rec.jobUser = `tg-${id}`;
    }
    return true;
  }
  const dc = slot.discord as FakeDiscord;
  if (!dc.connected) return false;
  const user = { id: String(800_000_000_000_000_000n + BigInt(p.user.n)), username: `user${p.user.n}` };
  const at = performance.now();
  let id: string;
  if (p.action === 'photo') {
    const a = dc.addAttachment('me.png', photo, 'image/png');
    id = dc.slash(user, 'train', [{ name: 'photo1', type: 11, value: a.id }], { dm: true, attachments: [a] });
  } else if (p.action === 'template') {
    const a = dc.addAttachment('template.jpg', template);
    id = dc.slash(user, 'template', [{ name: 'photo', type: 11, value: a.id }], {
      dm: true,
      attachments: [a],
    });
  } else if (p.action === 'consent') {
    id = dc.slash(user, 'consent', [{ name: 'action', type: 3, value: 'accept' }]);
  } else {
    id = dc.slash(user, p.action);
  }
  ledger.addDiscord(p.user.bot, {
    key,
    action: p.action,
    platform: 'discord',
    bot: p.user.bot,
    user: p.user.n,
    at,
    updateId: id,
    jobId: `dc-${dc.appId}-${id}`,
    jobUser: `dc-${user.id}`,
  });
  return true;
}

/** Kill -9 a random piece at random moments of the sending phase, then start it again. */
async function runChaos(
  stack: Stack,
  c: ChaosOptions,
  seconds: number,
  seed: number,
  kills: CrowdReport['kills'],
  say: (l: string) => void,
): Promise<void> {
  const r = rng(seed * 7919 + 13);
  const moments = Array.from({ length: c.kills }, () => 0.1 * seconds + r() * 0.75 * seconds).sort(
    (a, b) => a - b,
  );
  // Each target in turn, in a seeded order: every piece gets killed (with 3 or more kills).
  const order = Array.from({ length: c.kills }, (_, i) => c.targets[i % c.targets.length])
    .map((t) => ({ t, k: r() }))
    .sort((a, b) => a.k - b.k)
    .map((x) => x.t);
  const t0 = performance.now();
  for (const [n, at] of moments.entries()) {
    const wait = at * 1000 - (performance.now() - t0);
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    const target = order[n];
    const down = c.downSeconds[0] + r() * (c.downSeconds[1] - c.downSeconds[0]);
    const when = (performance.now() - t0) / 1000;
    say(`  kill -9 ${target} at ${when.toFixed(1)} s, down ${down.toFixed(1)} s`);
    kills.push({ at: when, atMs: performance.now(), target, downSeconds: down });
    if (target === 'redis') {
      await stack.killRedis();
      await new Promise((res) => setTimeout(res, down * 1000));
      await stack.startRedis();
    } else if (target === 'bot') {
      const i = Math.floor(r() * stack.bots.length);
      await stack.kill(stack.bots[i].proc);
      await new Promise((res) => setTimeout(res, down * 1000));
      await (await stack.startBot(i)).ready;
    } else {
      const i = Math.floor(r() * stack.workers.length);
      await stack.kill(stack.workers[i]);
      await new Promise((res) => setTimeout(res, down * 1000));
      await (await stack.startWorker(i)).ready;
    }
  }
}

/**
 * Wait until every update is answered and every queued request is delivered or was cancelled
 * (its job has a cancel tombstone), or the deadline passes. Returns the cancelled requests and
 * those delivered as channel messages (Discord, after the bot process holding the token died:
 * the job layer's delivered marker is set).
 */
async function drain(
  ledger: Ledger,
  redis: Redis,
  prefix: string,
  seconds: number,
  say: (l: string) => void,
): Promise<{ cancelled: Set<string>; toChannel: Set<string> }> {
  const end = performance.now() + seconds * 1000;
  const cancelled = new Set<string>();
  const toChannel = new Set<string>();
  let lastSay = performance.now();
  for (;;) {
    const open = [...ledger.sent.values()].filter(
      (s) =>
        s.answer === undefined ||
        (ledger.queuedJob(s) && s.later.length === 0 && !cancelled.has(s.key) && !toChannel.has(s.key)),
    );
    const waiting = open.filter((s) => s.answer !== undefined);
    if (waiting.length) {
      const flags = await redis
        .pipeline(
          waiting.flatMap((s) => [
            ['exists', `${prefix}:cancel:${jobIdOf(s)}`],
            ['exists', deliveredKey(prefix, s.jobUser, jobIdOf(s))],
          ]),
        )
        .exec()
        .catch(() => null);
      waiting.forEach((s, i) => {
        if (Number(flags?.[2 * i]?.[1]) === 1) cancelled.add(s.key);
        else if (s.platform === 'discord' && Number(flags?.[2 * i + 1]?.[1]) === 1) toChannel.add(s.key);
      });
    }
    const left = open.filter((s) => !cancelled.has(s.key) && !toChannel.has(s.key));
    // A job the user cancelled while it ran may still be stopping: done when nothing is left.
    if (left.length === 0 || performance.now() > end) {
      if (left.length)
        say(`  drain deadline: ${left.length} update(s) still without their answer or delivery`);
      // Cancelled requests that were delivered anyway (the cancel came too late) count as delivered.
      return { cancelled, toChannel };
    }
    if (performance.now() - lastSay > 15_000) {
      lastSay = performance.now();
      say(`  waiting for ${left.length} answer(s)/deliveries`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Queue wait (added → taken by a worker) and processing time of each queued request's job, ms. */
async function jobTimes(
  redis: Redis,
  prefix: string,
  queued: Sent[],
): Promise<{ wait: number[]; run: number[] }> {
  const wait: number[] = [];
  const run: number[] = [];
  const rows = await redis
    .pipeline(
      queued.map((s) => ['hmget', `${prefix}:cpu:${jobIdOf(s)}`, 'timestamp', 'processedOn', 'finishedOn']),
    )
    .exec();
  for (const [, v] of rows ?? []) {
    const [added, taken, done] = (v as Array<string | null>).map((x) => (x ? Number(x) : undefined));
    if (added !== undefined && taken !== undefined) wait.push(taken - added);
    if (taken !== undefined && done !== undefined) run.push(done - taken);
  }
  return { wait, run };
}

/** Error and warning lines in the processes' logs (JSON lines; pino levels 50+ and 40). */
function logCounts(dir: string, stack: Stack): CrowdReport['logs'] {
  let errors = 0;
  let warnings = 0;
  let lines = 0;
  const names = [...stack.bots.map((_, i) => `bot${i}`), ...stack.workers.map((_, i) => `worker${i}`)];
  for (const n of names) {
    let text = '';
    try {
      text = readFileSync(path.join(dir, `${n}.log`), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      lines++;
      const level = /"level":(\d+)/.exec(line)?.[1];
      if (level && Number(level) >= 50) errors++;
      else if (level === '40') warnings++;
    }
  }
  return { errors, warnings, lines };
}
