/**
 * Every package the code imports is declared in the package.json that governs it, so `npm ci`
 * on a fresh clone installs it: code that runs in production (bot, commands, queue, core,
 * models, base, bin) needs it in `dependencies` (`npm ci --omit=dev` leaves devDependencies
 * out); tests, benches and tool configs may use `devDependencies`. A package that merely happens
 * to be installed as some other package's dependency (hoisted into node_modules) does not count.
 * A folder with its own package.json (an example under deploy/) answers to that one.
 * (TensorFlow.js, a devDependency, is imported only by test/pose/tfjs-reference.ts.)
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { packageImports, packageOf } from './imports.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PRODUCTION = ['bot', 'commands', 'queue', 'core', 'models', 'base', 'bin'];
const SKIP = new Set(['node_modules', '.git', 'data', 'gpu']);
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...sources(rel));
    else if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

interface Manifest {
  dir: string;
  dependencies: Set<string>;
  devDependencies: Set<string>;
}

const manifests = new Map<string, Manifest>();
/** The nearest package.json at or above the file's folder. */
function manifestFor(file: string): Manifest {
  let dir = path.posix.dirname(file);
  for (;;) {
    const p = path.join(ROOT, dir === '.' ? '' : dir, 'package.json');
    if (existsSync(p)) {
      let m = manifests.get(p);
      if (!m) {
        const pkg = JSON.parse(readFileSync(p, 'utf8'));
        m = {
          dir,
          dependencies: new Set(
            Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies }),
          ),
          devDependencies: new Set(Object.keys(pkg.devDependencies ?? {})),
        };
        manifests.set(p, m);
      }
      return m;
    }
    if (dir === '.') throw new Error(`no package.json above ${file}`);
    dir = path.posix.dirname(dir);
  }
}

/** Each import the governing package.json does not declare where it must be. */
function undeclared(file: string, text: string, m: Manifest): string[] {
  const production = m.dir === '.' && PRODUCTION.includes(file.split('/')[0]!);
  const out: string[] = [];
  for (const i of packageImports(file, text)) {
    const runtimeOk = m.dependencies.has(i.name);
    const devOk = m.devDependencies.has(i.name);
    const where = m.dir === '.' ? 'package.json' : `${m.dir}/package.json`;
    if (production && !i.typeOnly && !runtimeOk)
      out.push(
        `${file}:${i.line} imports "${i.specifier}": ${devOk ? 'only a devDependency, but this code runs in production' : `not declared in ${where}`}`,
      );
    else if (!runtimeOk && !devOk)
      out.push(`${file}:${i.line} imports "${i.specifier}": not declared in ${where}`);
  }
  return out;
}

describe('imported packages are declared', () => {
  const files = sources('');

  it('finds the sources (production, tests, benches)', () => {
    for (const top of ['bot', 'core', 'queue', 'test', 'bench'])
      expect(files.some((f) => f.startsWith(`${top}/`))).toBe(true);
  });

  it('every import of a package is in the governing package.json (runtime code: in dependencies)', () => {
    const problems = files.flatMap((f) =>
      undeclared(f, readFileSync(path.join(ROOT, f), 'utf8'), manifestFor(f)),
    );
    expect(problems).toEqual([]);
  });

  it('the packages the tests import (ws, playwright-core, vitest) are declared', () => {
    const tests = files.filter((f) => f.startsWith('test/'));
    const used = new Set(
      tests.flatMap((f) => packageImports(f, readFileSync(path.join(ROOT, f), 'utf8')).map((i) => i.name)),
    );
    const root = manifestFor('package.json');
    for (const name of ['ws', 'playwright-core', 'vitest']) {
      expect(used.has(name)).toBe(true);
      expect(root.dependencies.has(name) || root.devDependencies.has(name)).toBe(true);
    }
  });
});

describe('reading imports', () => {
  const sample = [
    "import { Bot } from 'grammy';",
    "import type { Update } from 'grammy/types';",
    "import { type A, type B } from '@scope/pkg/deep/path';",
    "import fs from 'node:fs';",
    "import path from 'path';",
    "import { x } from './local.ts';",
    "export { y } from 'reexported';",
    "export type { Z } from 'types-only';",
    "const a = await import('dynamic-pkg');",
    "const b = require('required-pkg');",
    "const c = require.resolve('resolved-pkg/package.json');",
    "type T = import('type-import').T;",
    "// import { fake } from 'in-a-comment';",
    'const s = "import x from \'in-a-string\'";',
  ].join('\n');

  it('names each package once per import, marks type-only ones, skips built-ins, paths, comments and strings', () => {
    const found = packageImports('sample.ts', sample).map((i) => `${i.name}${i.typeOnly ? ' (type)' : ''}`);
    expect(found).toEqual([
      'grammy',
      'grammy (type)',
      '@scope/pkg (type)',
      'reexported',
      'types-only (type)',
      'dynamic-pkg',
      'required-pkg',
      'resolved-pkg',
      'type-import (type)',
    ]);
  });

  it('maps specifiers to package names', () => {
    expect(packageOf('grammy/types')).toBe('grammy');
    expect(packageOf('@grammyjs/auto-retry')).toBe('@grammyjs/auto-retry');
    expect(packageOf('@scope/a/b')).toBe('@scope/a');
    expect(packageOf('node:fs')).toBeUndefined();
    expect(packageOf('fs/promises')).toBeUndefined();
    expect(packageOf('../x.ts')).toBeUndefined();
    expect(packageOf('https://example.org/m.js')).toBeUndefined();
  });

  it('flags an undeclared import and a production import of a devDependency', () => {
    const m: Manifest = { dir: '.', dependencies: new Set(['grammy']), devDependencies: new Set(['vitest']) };
    expect(undeclared('core/a.ts', "import { it } from 'vitest';\nimport x from 'left-pad';", m)).toEqual([
      'core/a.ts:1 imports "vitest": only a devDependency, but this code runs in production',
      'core/a.ts:2 imports "left-pad": not declared in package.json',
    ]);
    expect(
      undeclared('test/a.ts', "import { it } from 'vitest';\nimport type { T } from 'grammy';", m),
    ).toEqual([]);
    expect(undeclared('core/b.ts', "import type { Bot } from 'vitest';", m)).toEqual([]);
  });
});
