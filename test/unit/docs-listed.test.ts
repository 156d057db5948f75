/**
 * The README's documentation list names every page in docs/, once, and only pages that exist;
 * and the files the docs name by path (`core/x/y.ts`, `docs/z.md`) exist, so a move that forgets
 * a page is caught.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const pages = readdirSync('docs')
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);

describe('README documentation list', () => {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('## Documentation'));
  const listed = [...section.matchAll(/^- `(docs\/[^`]+\.md)`/gm)].map((m) => m[1]);

  it('lists every docs/ page once', () => {
    expect(pages.filter((p) => !listed.includes(p))).toEqual([]);
    expect(listed.filter((p) => !pages.includes(p))).toEqual([]);
    expect(listed.filter((p, i) => listed.indexOf(p) !== i)).toEqual([]);
  });
});

describe('paths named in the docs', () => {
  // A project path with a file extension, not part of a longer path or URL.
  const PATH =
    /(?<![\w/.-])((?:base|bot|core|queue|commands|models|test|bench|gpu|deploy|docs|bin)\/[\w./-]+\.(?:json|ts|js|md|py|lua|yaml|txt))(?!\w)/g;

  it('exist', () => {
    const missing: string[] = [];
    for (const file of ['README.md', ...pages]) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        for (const m of line.matchAll(PATH)) if (!existsSync(m[1])) missing.push(`${file}:${i + 1}: ${m[1]}`);
      });
    }
    expect(missing).toEqual([]);
  });
});
