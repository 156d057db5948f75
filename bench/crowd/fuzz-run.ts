/**
 * Hostile updates against the bot process (bench/crowd/stack.ts with no worker; Redis private,
 * logs at info): seeded Telegram updates and Discord interactions (fuzz.ts) through the
 * stand-ins, with a well-formed /status from a control user every `controlEvery` cases, which
 * must be answered. Afterwards: the bot process is still running (a crash or an unhandled
 * rejection ends it), every message it sent went to someone an update named, and no log line
 * holds the fuzzer's marker (the payloads' content).
 */
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nextId } from '../../test/bot/fake-discord.ts';
import { Fuzzer, MARKER, telegramUserOf } from './fuzz.ts';
import { Stack } from './stack.ts';

export interface FuzzOptions {
  cases: number;
  seed?: number;
  /** Cases sent per 100 ms. */
  burst?: number;
  controlEvery?: number;
  keep?: boolean;
  say?: (l: string) => void;
}

export interface FuzzReport {
  cases: { telegram: number; discord: number };
  seconds: number;
  botAlive: boolean;
  botExit?: number | null;
  /** Messages the bot sent (Telegram sends, Discord callbacks and follow-ups). */
  replies: number;
  /** Replies to a chat or interaction no hostile update named a user for. */
  unexpected: string[];
  controls: { sent: number; answered: number };
  logs: { lines: number; errors: number; warnings: number; withPayload: string[] };
  cpuSeconds?: number;
  rssMb?: number;
  dir: string;
}

const SENDS = new Set([
  'sendMessage',
  'sendPhoto',
  'sendDocument',
  'sendVideo',
  'sendMediaGroup',
  'editMessageText',
  'setChatPhoto',
]);
const CONTROL_TG = 4242;

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const say = o.say ?? (() => {});
  const dir = path.join(os.tmpdir(), `fc-fuzz-${process.pid}-${Date.now()}`);
  const stack = new Stack({
    dir,
    bots: [{ telegramId: 5_560_001, discordAppId: '900000000000000021' }],
    workers: 0,
    env: { FACECHAIN_LOG_LEVEL: 'info', FACECHAIN_USER_DAILY_QUOTA: '100000' },
  });
  const fz = new Fuzzer(o.seed ?? 1);
  const allowedTg = new Set<string>([String(CONTROL_TG)]);
  const allowedDc = new Set<string>();
  const unexpected: string[] = [];
  let replies = 0;
  const controls = { sent: 0, answered: 0 };
  const controlIds = new Set<string>();
  const answeredControls = new Set<string>();
  const started = performance.now();
  let report: FuzzReport | undefined;
  try {
    await stack.startAll();
    const slot = stack.bots[0];
    const tg = slot.telegram!;
    const dc = slot.discord!;
    await dc.ready;
    tg.onCall = (call) => {
      if (!SENDS.has(call.method)) return;
      replies++;
      const chat = String(call.params.chat_id);
      if (chat === String(CONTROL_TG) && call.method === 'sendMessage') controls.answered++;
      if (!allowedTg.has(chat)) unexpected.push(`telegram ${call.method} to ${chat}`);
    };
    dc.onCall = (call) => {
      const m = /\/(?:interactions\/(\d+)\/|webhooks\/\d+\/itok-(\d+))/.exec(call.path);
      if (!m) {
        if (call.method !== 'GET' && !/\/commands$/.test(call.path)) {
          replies++;
          unexpected.push(`discord ${call.method} ${call.path.replace(/\d{6,}/g, '#')}`);
        }
        return;
      }
      replies++;
      const id = m[1] ?? m[2];
      if (controlIds.has(id)) {
        if (m[2] && !answeredControls.has(id)) {
          answeredControls.add(id);
          controls.answered++;
        }
        return;
      }
      if (!allowedDc.has(id)) unexpected.push(`discord ${call.method} for an interaction without a user`);
    };
    const counts = { telegram: 0, discord: 0 };
    const burst = o.burst ?? 25;
    for (let i = 0; i < o.cases; i++) {
      if (i % 2 === 0) {
        const u = fz.telegram();
        const who = telegramUserOf(u);
        if (who !== undefined) {
          allowedTg.add(String(who));
          const c = u as Record<
            string,
            {
              chat?: { id?: unknown };
              message?: { chat?: { id?: unknown } };
              new_chat_members?: Array<{ id?: unknown }>;
            }
          >;
          const carrier = c.message ?? c.callback_query ?? c.edited_message ?? c.chat_member;
          for (const chat of [carrier?.chat?.id, carrier?.message?.chat?.id])
            if (chat !== undefined) allowedTg.add(String(chat));
        }
        // New members are people too: the bot may invite them privately.
        const members = (u.message as { new_chat_members?: Array<{ id?: unknown }> } | undefined)
          ?.new_chat_members;
        if (Array.isArray(members))
          for (const m of members) if (m && typeof m === 'object') allowedTg.add(String(m.id));
        tg.push(u as Record<string, unknown>);
        counts.telegram++;
      } else {
        const id = nextId();
        const body = fz.discord();
        const who =
          (body.member as { user?: { id?: unknown } } | undefined)?.user?.id ??
          (body.user as { id?: unknown } | undefined)?.id;
        if (who !== undefined && who !== null && typeof who !== 'object') allowedDc.add(id);
        dc.send('INTERACTION_CREATE', { ...body, id, application_id: dc.appId, token: `itok-${id}` });
        counts.discord++;
      }
      if ((i + 1) % (o.controlEvery ?? 250) === 0) {
        controls.sent += 2;
        tg.push(
          tg.message(
            { id: CONTROL_TG, is_bot: false, first_name: 'Control' },
            { id: CONTROL_TG, type: 'private' },
            { text: '/status' },
          ),
        );
        controlIds.add(dc.slash({ id: '810000000000009999', username: 'control' }, 'status'));
      }
      if ((i + 1) % burst === 0) {
        await new Promise((r) => setTimeout(r, 100));
        if ((i + 1) % 1000 === 0) say(`  ${i + 1}/${o.cases} cases, ${replies} replies`);
      }
    }
    // Until the bot is quiet: nothing sent for 3 s (or 60 s in all).
    let last = replies;
    let quietSince = performance.now();
    const end = performance.now() + 60_000;
    while (performance.now() - quietSince < 3000 && performance.now() < end) {
      await new Promise((r) => setTimeout(r, 250));
      if (replies !== last) {
        last = replies;
        quietSince = performance.now();
      }
    }
    const proc = slot.proc!;
    const alive = proc.child.exitCode === null && proc.child.signalCode === null;
    const { readProc } = await import('./procstat.ts');
    const stat = proc.child.pid ? readProc(proc.child.pid) : undefined;
    report = {
      cases: counts,
      seconds: (performance.now() - started) / 1000,
      botAlive: alive,
      ...(alive ? {} : { botExit: proc.child.exitCode }),
      replies,
      unexpected,
      controls,
      logs: { lines: 0, errors: 0, warnings: 0, withPayload: [] },
      ...(stat ? { cpuSeconds: stat.cpuSeconds, rssMb: stat.rssMb } : {}),
      dir,
    };
  } finally {
    await stack.stop();
    if (report) report.logs = scanLog(path.join(dir, 'bot0.log'));
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
  return report as FuzzReport;
}

function scanLog(file: string): FuzzReport['logs'] {
  const out: FuzzReport['logs'] = { lines: 0, errors: 0, warnings: 0, withPayload: [] };
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    if (!line) continue;
    out.lines++;
    const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 0);
    if (level >= 50) out.errors++;
    else if (level === 40) out.warnings++;
    if (line.includes(MARKER)) out.withPayload.push(line.slice(0, 400));
  }
  return out;
}
