/** The README's documentation list names every page in docs/, and only pages that exist. */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('README documentation list', () => {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('## Documentation'));
  const listed = [...section.matchAll(/^- `(docs\/[^`]+\.md)`/gm)].map((m) => m[1]);

  it('lists every docs/ page', () => {
    const pages = readdirSync('docs')
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`);
    expect(pages.filter((p) => !listed.includes(p))).toEqual([]);
    expect(listed.filter((p) => !pages.includes(p))).toEqual([]);
  });
});
