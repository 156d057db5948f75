/**
 * Carries out test/setup/requirements.ts on this machine: finds the programs the suite needs,
 * installs the missing Debian packages when allowed, and provides a Redis for the run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ping, startRedisServer } from '../../queue/redis-embedded.ts';
import {
  type Env,
  findChromium,
  findExecutable,
  type Host,
  NO_APT_ENV,
  planSetup,
  TOOLS,
  type Tool,
} from './requirements.ts';

export interface Probe {
  missing: Tool[];
  chromium?: string;
  chromiumError?: string;
}

export function probe(env: Env): Probe {
  const browser = findChromium(env);
  const missing = TOOLS.filter((t) =>
    t.debian === 'chromium'
      ? browser === undefined
      : t.binaries.some((b) => findExecutable(b, env) === undefined),
  );
  return {
    missing,
    chromium: browser && 'path' in browser ? browser.path : undefined,
    chromiumError: browser && 'error' in browser ? browser.error : undefined,
  };
}

export function hostOf(env: Env): Host {
  const root = process.getuid?.() === 0;
  const sudo =
    !root &&
    findExecutable('sudo', env) !== undefined &&
    spawnSync('sudo', ['-n', 'true'], { env, stdio: 'ignore', timeout: 5000 }).status === 0;
  const off = env[NO_APT_ENV]?.trim();
  return {
    root,
    sudo,
    aptGet: findExecutable('apt-get', env) !== undefined,
    brew: findExecutable('brew', env) !== undefined,
    installAllowed: !off || off === '0' || off === 'false',
  };
}

/**
 * Every program the suite needs is there afterwards, or this throws with the one command that
 * fixes it. Returns the Chromium to use. apt-get's own output goes to stderr.
 */
export function provisionTools(
  env: Env,
  say: (line: string) => void,
  host: Host = hostOf(env),
): { chromium: string } {
  const first = probe(env);
  const plan = planSetup(first.missing, host, first.chromiumError);
  if (plan.action === 'fail') throw new Error(plan.message);
  if (plan.action === 'install') {
    say(`test set-up: installing ${plan.packages.join(', ')} with apt-get (${NO_APT_ENV}=1 forbids this)`);
    for (const argv of plan.commands) {
      const r = spawnSync(argv[0]!, argv.slice(1), {
        env: { ...env, DEBIAN_FRONTEND: 'noninteractive' },
        stdio: ['ignore', 2, 2],
      });
      if (r.status !== 0)
        throw new Error(
          `test set-up: "${argv.join(' ')}" failed (${r.error?.message ?? `exit ${r.status}`}). ` +
            `Install by hand: ${plan.commands.at(-1)!.join(' ')}`,
        );
    }
    const after = probe(env);
    if (after.missing.length)
      throw new Error(
        `test set-up: apt-get installed ${plan.packages.join(' ')}, but these are still missing: ` +
          after.missing.map((t) => [t.debian, ...t.binaries].join(' / ')).join(', '),
      );
    return { chromium: after.chromium! };
  }
  return { chromium: first.chromium! };
}

export interface TestRedis {
  url: string;
  /** True when the set-up started a private server for this run. */
  started: boolean;
  stop(): Promise<void>;
}

/**
 * REDIS_URL when set (it must answer), else 127.0.0.1:6379 when it answers, else a private
 * redis-server on a free port, without persistence, removed when the run ends.
 */
export async function testRedis(env: Env, local = 'redis://127.0.0.1:6379'): Promise<TestRedis> {
  const given = env.REDIS_URL?.trim();
  if (given) {
    if (!(await ping(given, 2000)))
      throw new Error(
        `test set-up: REDIS_URL=${given} does not answer. Start that Redis, or unset REDIS_URL.`,
      );
    return { url: given, started: false, stop: async () => {} };
  }
  if (await ping(local)) return { url: local, started: false, stop: async () => {} };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fc-test-redis-'));
  try {
    const server = await startRedisServer({
      dir,
      appendfsync: 'no',
      extraArgs: ['--appendonly', 'no'],
    });
    return {
      url: server.url,
      started: true,
      async stop() {
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
