/**
 * The test suite's own set-up (test/setup/): finding programs, deciding whether to install them,
 * the message that names the one command that fixes a machine, and the run's Redis. The machine
 * is simulated with PATH pointing at temporary folders; apt-get is a recording stand-in.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, ping } from '../../queue/redis-embedded.ts';
import { hostOf, probe, provisionTools, testRedis } from '../setup/provision.ts';
import { findChromium, findExecutable, type Host, planSetup, TOOLS } from '../setup/requirements.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'fc-setup-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
function folder(): string {
  const d = path.join(root, `d${n++}`);
  mkdirSync(d);
  return d;
}

function program(dir: string, name: string, body = 'exit 0'): string {
  const file = path.join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

const tool = (debian: string) => TOOLS.find((t) => t.debian === debian)!;
const host = (over: Partial<Host> = {}): Host => ({
  root: false,
  sudo: false,
  aptGet: true,
  brew: false,
  installAllowed: true,
  ...over,
});

describe('finding programs', () => {
  it('finds executables on PATH only, like command -v', () => {
    const bin = folder();
    const other = folder();
    program(bin, 'redis-server');
    writeFileSync(path.join(other, 'ffmpeg'), 'not executable');
    const env = { PATH: [other, bin].join(path.delimiter) };
    expect(findExecutable('redis-server', env)).toBe(path.join(bin, 'redis-server'));
    expect(findExecutable('ffmpeg', env)).toBeUndefined();
    expect(findExecutable('redis-server', { PATH: folder() })).toBeUndefined();
    expect(findExecutable('redis-server', {})).toBeUndefined();
  });

  it('takes Chromium from FACECHAIN_CHROMIUM, refuses a wrong one, else searches PATH', () => {
    const bin = folder();
    const chrome = program(bin, 'my-chrome');
    expect(findChromium({ PATH: '', FACECHAIN_CHROMIUM: chrome })).toEqual({
      path: chrome,
      source: 'FACECHAIN_CHROMIUM',
    });
    const wrong = findChromium({ PATH: '', FACECHAIN_CHROMIUM: path.join(bin, 'nothing') });
    expect(wrong).toEqual({
      error: expect.stringMatching(/FACECHAIN_CHROMIUM=.*nothing is not an executable/),
    });
    program(bin, 'google-chrome');
    expect(findChromium({ PATH: bin, HOME: folder() })).toEqual({
      path: path.join(bin, 'google-chrome'),
      source: 'PATH',
    });
  });

  it('reports the tools missing from an empty PATH', () => {
    const p = probe({ PATH: folder(), HOME: folder() });
    const names = p.missing.map((t) => t.debian);
    expect(names).toEqual(expect.arrayContaining(['redis-server', 'ffmpeg', 'espeak-ng']));
    // Chromium may still be found at a usual install path of this machine.
    expect(names.includes('chromium')).toBe(p.chromium === undefined);
  });

  it('reads the host: no apt-get or sudo on an empty PATH; FACECHAIN_NO_APT forbids installing', () => {
    const empty = folder();
    expect(hostOf({ PATH: empty })).toMatchObject({ aptGet: false, brew: false, installAllowed: true });
    expect(hostOf({ PATH: empty, FACECHAIN_NO_APT: '1' }).installAllowed).toBe(false);
    expect(hostOf({ PATH: empty, FACECHAIN_NO_APT: '0' }).installAllowed).toBe(true);
    const bin = folder();
    program(bin, 'apt-get');
    expect(hostOf({ PATH: bin }).aptGet).toBe(true);
  });
});

describe('deciding what to do', () => {
  const missing = [tool('chromium'), tool('ffmpeg')];

  it('does nothing when everything is there', () => {
    expect(planSetup([], host())).toEqual({ action: 'ready' });
  });

  it('installs with apt-get as root, or through sudo -n', () => {
    expect(planSetup(missing, host({ root: true }))).toEqual({
      action: 'install',
      packages: ['chromium', 'ffmpeg'],
      commands: [
        ['apt-get', 'update', '-qq'],
        ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'chromium', 'ffmpeg'],
      ],
    });
    const viaSudo = planSetup(missing, host({ sudo: true }));
    expect(viaSudo.action === 'install' && viaSudo.commands.map((c) => c.slice(0, 3))).toEqual([
      ['sudo', '-n', 'apt-get'],
      ['sudo', '-n', 'apt-get'],
    ]);
  });

  it('otherwise fails naming the one command that fixes it', () => {
    const plan = planSetup(missing, host());
    expect(plan.action).toBe('fail');
    const msg = plan.action === 'fail' ? plan.message : '';
    expect(msg).toContain('\n    sudo apt-get install -y --no-install-recommends chromium ffmpeg\n');
    expect(msg).toContain('chromium: browser tests of the web playground');
    expect(msg).toContain('FACECHAIN_CHROMIUM');
    expect(msg).toMatch(/only as root or with password-less sudo/);
  });

  it('installs nothing when FACECHAIN_NO_APT forbids it, and says so', () => {
    const plan = planSetup(missing, host({ root: true, installAllowed: false }));
    expect(plan).toEqual({ action: 'fail', message: expect.stringContaining('FACECHAIN_NO_APT is set') });
    expect(plan.action === 'fail' && plan.message).toContain(
      '    apt-get install -y --no-install-recommends chromium ffmpeg',
    );
  });

  it('suggests Homebrew where there is no apt-get', () => {
    const plan = planSetup([tool('redis-server'), tool('ffmpeg')], host({ aptGet: false, brew: true }));
    expect(plan.action === 'fail' && plan.message).toContain('\n    brew install redis ffmpeg\n');
    const bare = planSetup([tool('ffmpeg')], host({ aptGet: false }));
    expect(bare.action === 'fail' && bare.message).toMatch(/your system's package manager/);
  });

  it('never installs around a wrong FACECHAIN_CHROMIUM', () => {
    expect(
      planSetup(missing, host({ root: true }), 'FACECHAIN_CHROMIUM=/x is not an executable file'),
    ).toEqual({
      action: 'fail',
      message: expect.stringContaining('FACECHAIN_CHROMIUM=/x'),
    });
  });
});

describe('carrying it out', () => {
  /** A stand-in apt-get that records its arguments and "installs" the named packages' programs. */
  function fakeApt(opts: { fail?: boolean; installs?: boolean } = {}): { bin: string; log: string } {
    const bin = folder();
    const log = path.join(bin, 'apt.log');
    const make = (name: string) => `printf '#!/bin/sh\\n' > ${bin}/${name}; /bin/chmod 755 ${bin}/${name}`;
    program(
      bin,
      'apt-get',
      [
        `echo "$@" >> ${log}`,
        opts.fail ? 'exit 100' : '',
        opts.installs === false ? 'exit 0' : '',
        'for a in "$@"; do case "$a" in',
        `  redis-server) ${make('redis-server')};;`,
        `  ffmpeg) ${make('ffmpeg')}; ${make('ffprobe')};;`,
        `  espeak-ng) ${make('espeak-ng')};;`,
        `  chromium) ${make('chromium')};;`,
        'esac; done',
      ].join('\n'),
    );
    return { bin, log };
  }
  const asRoot = host({ root: true });
  const lines: string[] = [];
  const say = (l: string) => lines.push(l);

  it('installs what is missing, then finds it', () => {
    const apt = fakeApt();
    const env = { PATH: apt.bin, HOME: folder(), FACECHAIN_CHROMIUM: program(folder(), 'chrome') };
    const r = provisionTools(env, say, asRoot);
    expect(r.chromium).toBe(env.FACECHAIN_CHROMIUM);
    expect(readFileSync(apt.log, 'utf8').trim().split('\n')).toEqual([
      'update -qq',
      'install -y -qq --no-install-recommends redis-server ffmpeg espeak-ng',
    ]);
    for (const b of ['redis-server', 'ffmpeg', 'ffprobe', 'espeak-ng'])
      expect(existsSync(path.join(apt.bin, b))).toBe(true);
    expect(lines.at(-1)).toMatch(/installing redis-server, ffmpeg, espeak-ng with apt-get/);
    // Everything there now: nothing runs the second time.
    provisionTools(env, say, asRoot);
    expect(readFileSync(apt.log, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('says what to run by hand when apt-get fails, or installs nothing', () => {
    const chrome = program(folder(), 'chrome');
    const failing = fakeApt({ fail: true });
    expect(() => provisionTools({ PATH: failing.bin, FACECHAIN_CHROMIUM: chrome }, say, asRoot)).toThrow(
      /"apt-get update -qq" failed \(exit 100\)\. Install by hand: apt-get install -y -qq --no-install-recommends redis-server ffmpeg espeak-ng/,
    );
    const idle = fakeApt({ installs: false });
    expect(() => provisionTools({ PATH: idle.bin, FACECHAIN_CHROMIUM: chrome }, say, asRoot)).toThrow(
      /still missing: redis-server \/ redis-server, ffmpeg \/ ffmpeg \/ ffprobe, espeak-ng/,
    );
  });

  it('fails before installing anything when not allowed', () => {
    const apt = fakeApt();
    const chrome = program(folder(), 'chrome');
    expect(() =>
      provisionTools({ PATH: apt.bin, FACECHAIN_CHROMIUM: chrome }, say, host({ installAllowed: false })),
    ).toThrow(/apt-get install -y --no-install-recommends redis-server ffmpeg espeak-ng/);
    expect(existsSync(apt.log)).toBe(false);
  });
});

describe("the run's Redis", () => {
  it('starts a private redis-server when nothing answers, and removes it after', async () => {
    const nobody = `redis://127.0.0.1:${await freePort()}`;
    const r = await testRedis({ PATH: process.env.PATH }, nobody);
    try {
      expect(r.started).toBe(true);
      expect(r.url).not.toBe(nobody);
      expect(await ping(r.url)).toBe(true);
    } finally {
      await r.stop();
    }
    expect(await ping(r.url)).toBe(false);
  });

  it('uses REDIS_URL when it answers, and refuses one that does not', async () => {
    const nobody = `redis://127.0.0.1:${await freePort()}`;
    await expect(testRedis({ REDIS_URL: nobody })).rejects.toThrow(/REDIS_URL=.* does not answer/);
    const run = process.env.REDIS_URL!;
    await expect(testRedis({ REDIS_URL: run })).resolves.toMatchObject({ url: run, started: false });
  });
});
