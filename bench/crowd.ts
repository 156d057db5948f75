/**
 * A crowd through the real stack: users on the Telegram and Discord stand-ins drive the bot
 * process, a worker and a private Redis, started as `npm start` starts them (separate
 * processes, loopback only). Prints acknowledgement and reply times, queue wait, answers per
 * update (exactly once), CPU, RSS and open files per process, Redis memory and keys.
 *
 *   node bin/run-ts.js bench/crowd.ts [--users 200] [--updates 2000] [--minutes 5] [--seed 1]
 *     [--mode crowd|restarts|soak] [--kills 6] [--bots 1] [--workers 1]
 *     [--platforms telegram,discord] [--drain-minutes 10] [--json report.json] [--keep]
 *
 * Modes:
 *   crowd     the run above (default: 200 users, 2,000 updates over 5 minutes)
 *   restarts  the same crowd while the bot process, a worker and Redis (AOF, fsync always) are
 *             killed with SIGKILL at random moments and started again (--kills, default 6)
 *   soak      a low steady rate for a long time (default 40 users, 1 update every 2 s, 30 min):
 *             RSS, open files, Redis memory and keys sampled every 30 s; slopes per hour after
 *             a warm-up of a fifth of the run
 * Exit code 1 when an update was not answered exactly once (or a request not delivered once).
 */
import { writeFileSync } from 'node:fs';
import { parseCommandLine } from '../bot/cli/args.ts';
import { type CrowdReport, runCrowd } from './crowd/run.ts';
import { soakSlopes } from './crowd/soak.ts';

const args = parseCommandLine(process.argv.slice(2), {
  strings: [
    'users',
    'updates',
    'minutes',
    'seed',
    'mode',
    'kills',
    'bots',
    'workers',
    'platforms',
    'drain-minutes',
    'json',
  ],
  flags: ['keep'],
});
const mode = args.choice('mode', ['crowd', 'restarts', 'soak'] as const) ?? 'crowd';
const soak = mode === 'soak';
const minutes = args.number('minutes', { min: 0.05, max: 24 * 60 }) ?? (soak ? 30 : 5);
const users = args.int('users', { min: 1, max: 100_000 }) ?? (soak ? 40 : 200);
const updates = args.int('updates', { min: 1, max: 10_000_000 }) ?? (soak ? Math.round(minutes * 30) : 2000);
const platforms = (args.string('platforms') ?? 'telegram,discord').split(',') as Array<
  'telegram' | 'discord'
>;

const say = (l: string) => process.stderr.write(`${l}\n`);
const report = await runCrowd({
  users,
  updates,
  seconds: minutes * 60,
  seed: args.int('seed') ?? 1,
  bots: args.int('bots', { min: 1, max: 8 }) ?? 1,
  workers: args.int('workers', { min: 1, max: 16 }) ?? 1,
  platforms,
  drainSeconds: (args.number('drain-minutes', { min: 0.1 }) ?? (mode === 'restarts' ? 3 : 10)) * 60,
  sampleMs: soak ? 30_000 : 2000,
  redisSampleMs: soak ? 30_000 : 0,
  metrics: soak,
  // A soak shows completed jobs levelling off within the run (production keeps them 8 days).
  ...(soak ? { env: { FACECHAIN_KEEP_COMPLETED_SECONDS: '900', FACECHAIN_KEEP_FAILED_SECONDS: '900' } } : {}),
  keep: args.flag('keep'),
  ...(mode === 'restarts'
    ? {
        chaos: {
          kills: args.int('kills', { min: 1, max: 1000 }) ?? 6,
          targets: ['bot', 'worker', 'redis'],
          downSeconds: [1, 5],
        },
      }
    : {}),
  say,
});

const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const v = report.verdict;
const lines: string[] = [];
lines.push(
  `crowd (${mode}): ${users} users, ${v.updates} updates over ${f(minutes, 1)} min, ${report.cores} cores, ` +
    `${report.options.workers ?? 1} worker(s), ${report.options.bots ?? 1} bot(s); wall ${f(report.wallSeconds)} s`,
);
if (report.kills.length)
  lines.push(
    `kills (SIGKILL, restarted): ${report.kills.map((k) => `${k.target}@${f(k.at)}s/${f(k.downSeconds, 1)}s`).join(', ')}`,
  );
lines.push(
  `answers: ${v.answered}/${v.updates} updates answered, ${v.unanswered.length} unanswered` +
    (report.refusedByPlatform
      ? ` (+${report.refusedByPlatform} Discord interactions sent while no bot was connected: "interaction failed" for the user)`
      : ''),
);
const busy = [...v.answerKinds].filter(([k]) => /busy or unreachable/.test(k)).reduce((a, [, n]) => a + n, 0);
if (busy)
  lines.push(`  of the answers: ${busy} said "busy or unreachable, try again in a minute" (Redis was down)`);
lines.push(
  `requests: ${v.queued} queued → ${v.delivered} delivered once` +
    (v.deliveredToChannel
      ? ` (${v.deliveredToChannel} as a channel message: the interaction's token died with a killed bot)`
      : '') +
    `, ${v.cancelled} cancelled by the user, ` +
    `${v.missing.length} missing, ${v.duplicates.length} with a second answer or delivery; ` +
    `discord acks ≠ 1: ${v.badAcks.length}`,
);
if (v.unanswered.length && report.kills.length)
  lines.push(
    `  of the unanswered: ${report.inFlightAtKill} Discord interaction(s) deferred by a bot process killed before it answered (the token dies with it)`,
  );
lines.push('times (ms):');
for (const [k, d] of Object.entries(report.latency))
  if (d.n)
    lines.push(
      `  ${k.padEnd(44)} n ${String(d.n).padStart(5)}  p50 ${f(d.p50).padStart(6)}  p99 ${f(d.p99).padStart(7)}  max ${f(d.max).padStart(7)}`,
    );
for (const [k, d] of [
  ['queue wait (added → taken)', report.queueWait],
  ['processing (taken → finished)', report.processing],
] as const)
  if (d.n)
    lines.push(
      `  ${k.padEnd(44)} n ${String(d.n).padStart(5)}  p50 ${f(d.p50).padStart(6)}  p99 ${f(d.p99).padStart(7)}  max ${f(d.max).padStart(7)}`,
    );
lines.push('processes (from /proc):');
for (const p of report.processes)
  lines.push(
    `  ${p.name.padEnd(8)} cpu ${f(p.cpuSeconds, 1).padStart(6)} s (${f(p.cpuShare * 100)}% of a core)  rss peak ${f(p.rssPeakMb)} MB, last ${f(p.rssLastMb)} MB  fds ${p.fdsFirst}→${p.fdsLast} (max ${p.fdsMax})` +
      (p.restarts ? `  restarts ${p.restarts}` : ''),
  );
const r0 = report.redis[0];
const r1 = report.redis[report.redis.length - 1];
if (r0 && r1)
  lines.push(
    `redis: memory ${f(r0.usedMemoryMb, 1)} → ${f(r1.usedMemoryMb, 1)} MB, keys ${r0.keys} → ${r1.keys}`,
  );
lines.push(
  `other: ${report.edits} progress edits, ${report.unattributed} continuation messages, ${report.strays.length} stray replies; ` +
    `logs: ${report.logs.errors} errors, ${report.logs.warnings} warnings in ${report.logs.lines} lines`,
);
if (soak) lines.push(...soakSlopes(report));
const show = (
  what: string,
  list: Array<{ action: string; platform: string; updateId: string; answer?: string; later: unknown[] }>,
) => {
  if (!list.length) return;
  lines.push(`${what} (first 10):`);
  for (const s of list.slice(0, 10))
    lines.push(
      `  ${s.platform} ${s.action} ${s.updateId}: ${JSON.stringify(s.answer?.slice(0, 60))} + ${s.later.length} later`,
    );
};
show('unanswered', v.unanswered);
show('missing deliveries', v.missing);
show('duplicates', v.duplicates);
console.log(lines.join('\n'));
const json = args.string('json');
if (json)
  writeFileSync(
    json,
    JSON.stringify(
      {
        ...(report satisfies CrowdReport),
        sent: undefined,
        verdict: { ...v, answerKinds: Object.fromEntries(v.answerKinds) },
      },
      null,
      1,
    ),
  );
// Interactions lost with a killed bot's memory are counted above, not failed here: Discord tells
// the user the application did not respond.
process.exitCode =
  v.unanswered.length - report.inFlightAtKill || v.missing.length || v.duplicates.length || v.badAcks.length
    ? 1
    : 0;
