/**
 * What the test suite needs from the machine beyond `npm ci`, how to find it, and what to do
 * when it is missing. Pure decisions over an explicit environment (PATH, user, switches), so the
 * logic is tested without touching the machine; test/setup/provision.ts carries them out.
 */
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Tool {
  /** Debian package that provides it. */
  debian: string;
  /** Homebrew formula, for the message on a Mac ('' when Homebrew has none to suggest). */
  brew: string;
  /** Executables the tests run (all must be found). Chromium is found by findChromium instead. */
  binaries: string[];
  why: string;
}

export const TOOLS: Tool[] = [
  {
    debian: 'redis-server',
    brew: 'redis',
    binaries: ['redis-server'],
    why: 'private Redis servers (restart and memory-limit tests, and the tests’ Redis when none answers)',
  },
  { debian: 'chromium', brew: '', binaries: [], why: 'browser tests of the web playground' },
  { debian: 'ffmpeg', brew: 'ffmpeg', binaries: ['ffmpeg', 'ffprobe'], why: 'talking-head video tests' },
  { debian: 'espeak-ng', brew: 'espeak-ng', binaries: ['espeak-ng'], why: 'talking-head speech tests' },
];

/** Environment variable naming the Chromium/Chrome binary for browser tests. */
export const CHROMIUM_ENV = 'FACECHAIN_CHROMIUM';
/** Set to 1 to forbid the test set-up from installing Debian packages. */
export const NO_APT_ENV = 'FACECHAIN_NO_APT';

export type Env = Record<string, string | undefined>;

function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first `name` on PATH (like `command -v`), without spawning a shell. */
export function findExecutable(name: string, env: Env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    if (isExecutable(file)) return file;
  }
  return undefined;
}

const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome', 'chrome'];
const CHROMIUM_PATHS = [
  '/usr/bin/chromium',
  '/usr/lib/chromium/chromium',
  '/snap/bin/chromium',
  '/opt/google/chrome/chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

/** Browsers a `npx playwright install chromium` left in its cache. */
function playwrightBrowsers(env: Env): string[] {
  const cache =
    env.PLAYWRIGHT_BROWSERS_PATH ?? path.join(env.HOME ?? os.homedir(), '.cache', 'ms-playwright');
  let dirs: string[];
  try {
    dirs = readdirSync(cache).filter((d) => d.startsWith('chromium-'));
  } catch {
    return [];
  }
  return dirs
    .sort()
    .reverse()
    .flatMap((d) => ['chrome-linux64/chrome', 'chrome-linux/chrome'].map((f) => path.join(cache, d, f)));
}

export type ChromiumFound = { path: string; source: string } | { error: string } | undefined;

/**
 * FACECHAIN_CHROMIUM (or CHROME_PATH) if set, which must then be right: a wrong explicit path is
 * an error, not a reason to pick another browser. Else the usual names on PATH, the usual install
 * paths, and Playwright's browser cache.
 */
export function findChromium(env: Env): ChromiumFound {
  for (const name of [CHROMIUM_ENV, 'CHROME_PATH']) {
    const given = env[name]?.trim();
    if (!given) continue;
    if (isExecutable(given)) return { path: given, source: name };
    return {
      error: `${name}=${given} is not an executable file: point it at a Chromium or Chrome binary, or unset it.`,
    };
  }
  for (const name of CHROMIUM_NAMES) {
    const found = findExecutable(name, env);
    if (found) return { path: found, source: 'PATH' };
  }
  for (const file of [...CHROMIUM_PATHS, ...playwrightBrowsers(env)])
    if (isExecutable(file)) return { path: file, source: 'usual paths' };
  return undefined;
}

export interface Host {
  /** Running as root (uid 0). */
  root: boolean;
  /** `sudo -n true` succeeds: sudo without a password. */
  sudo: boolean;
  aptGet: boolean;
  brew: boolean;
  /** FACECHAIN_NO_APT is not set. */
  installAllowed: boolean;
}

export type Plan =
  | { action: 'ready' }
  | { action: 'install'; packages: string[]; commands: string[][] }
  | { action: 'fail'; message: string };

const describe = (tools: Tool[]) => tools.map((t) => `  - ${t.debian}: ${t.why}`).join('\n');

/** What to do about the missing tools on this host. */
export function planSetup(missing: Tool[], host: Host, chromiumError?: string): Plan {
  // A wrong explicit browser path is fixed by the user, never by installing something else.
  if (chromiumError) return { action: 'fail', message: `Test set-up: ${chromiumError}` };
  if (!missing.length) return { action: 'ready' };
  const packages = missing.map((t) => t.debian);
  const apt = ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...packages];
  const canInstall = host.aptGet && host.installAllowed && (host.root || host.sudo);
  if (canInstall) {
    const as = host.root ? [] : ['sudo', '-n'];
    return {
      action: 'install',
      packages,
      commands: [
        [...as, 'apt-get', 'update', '-qq'],
        [...as, ...apt],
      ],
    };
  }
  const fix = host.aptGet
    ? `${host.root ? '' : 'sudo '}apt-get install -y --no-install-recommends ${packages.join(' ')}`
    : host.brew && missing.some((t) => t.brew)
      ? `brew install ${missing
          .map((t) => t.brew)
          .filter(Boolean)
          .join(' ')}`
      : undefined;
  const why = !host.aptGet
    ? ''
    : !host.installAllowed
      ? `(${NO_APT_ENV} is set, so the tests install nothing themselves.)\n`
      : '(The tests install Debian packages themselves only as root or with password-less sudo.)\n';
  const browser = missing.some((t) => t.debian === 'chromium')
    ? `A Chromium or Chrome installed elsewhere is used when ${CHROMIUM_ENV} names its binary.\n`
    : '';
  return {
    action: 'fail',
    message:
      `The test suite needs programs this machine lacks:\n${describe(missing)}\n` +
      (fix
        ? `Install them with:\n\n    ${fix}\n\n`
        : `Install them with your system's package manager (Debian package names above).\n`) +
      why +
      browser,
  };
}
