/**
 * Every dependency with an install script is approved or refused by name in package.json's
 * `allowScripts` (npm 11.16+ reads it; `.npmrc`'s ignore-scripts runs none on every npm), so a
 * new one in the lockfile is a decision, not a surprise (docs/development.md).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('install scripts', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { allowScripts?: Record<string, boolean> };
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
    packages: Record<string, { hasInstallScript?: boolean }>;
  };
  const withScripts = [
    ...new Set(
      Object.entries(lock.packages)
        .filter(([, p]) => p.hasInstallScript)
        .map(([where]) => where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length)),
    ),
  ].sort();

  it('every package with an install script is named in allowScripts, and only those', () => {
    const named = Object.keys(pkg.allowScripts ?? {}).sort();
    expect(withScripts.length).toBeGreaterThan(0);
    expect(named).toEqual(withScripts);
  });

  it('npm runs no install script', () => {
    expect(readFileSync('.npmrc', 'utf8')).toMatch(/^ignore-scripts=true$/m);
  });
});
