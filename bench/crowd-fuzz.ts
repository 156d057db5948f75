/**
 * Hostile updates against the bot process: 10,000 seeded Telegram updates and Discord
 * interactions (random and mutated JSON, wrong types, huge strings, unknown fields, no `from`,
 * callback data never issued, commands from channels and bots) through the stand-ins.
 *
 *   node bin/run-ts.js bench/crowd-fuzz.ts [--cases 10000] [--seed 1] [--keep]
 *
 * Prints: whether the bot process survived, replies and any sent to nobody an update named,
 * control users answered, log lines holding payload content. Exit code 1 on any of those.
 */
import os from 'node:os';
import { parseCommandLine } from '../bot/cli/args.ts';
import { runFuzz } from './crowd/fuzz-run.ts';

const args = parseCommandLine(process.argv.slice(2), { strings: ['cases', 'seed'], flags: ['keep'] });
const r = await runFuzz({
  cases: args.int('cases', { min: 1, max: 1_000_000 }) ?? 10_000,
  seed: args.int('seed') ?? 1,
  keep: args.flag('keep'),
  say: (l) => process.stderr.write(`${l}\n`),
});
const ok =
  r.botAlive &&
  r.unexpected.length === 0 &&
  r.logs.withPayload.length === 0 &&
  r.controls.answered === r.controls.sent;
console.log(
  [
    `hostile updates: ${r.cases.telegram} Telegram + ${r.cases.discord} Discord in ${r.seconds.toFixed(0)} s, ${os.availableParallelism()} cores`,
    `bot process: ${r.botAlive ? 'still running' : `DIED (exit ${r.botExit})`}; cpu ${r.cpuSeconds?.toFixed(1) ?? '–'} s, rss ${r.rssMb?.toFixed(0) ?? '–'} MB`,
    `replies: ${r.replies}; to nobody an update named: ${r.unexpected.length}`,
    `control users (/status between the garbage): ${r.controls.answered}/${r.controls.sent} answered`,
    `logs: ${r.logs.lines} lines, ${r.logs.errors} errors, ${r.logs.warnings} warnings, ${r.logs.withPayload.length} holding payload content`,
    ...r.unexpected.slice(0, 10).map((u) => `  unexpected: ${u}`),
    ...r.logs.withPayload.slice(0, 10).map((l) => `  leaked: ${l}`),
    `verdict: ${ok ? 'ok' : 'FAILED'}`,
  ].join('\n'),
);
process.exitCode = ok ? 0 : 1;
