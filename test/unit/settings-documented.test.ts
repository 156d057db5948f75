/**
 * The settings core/config.ts accepts, the README's settings tables, .env.example and every other
 * settings table in docs/ agree: every setting is documented, no page names a setting that does
 * not exist, and every stated default is the real one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../core/config.ts';
import { type DocSetting, defaultMismatch, settingsInEnvExample, settingsInTables } from './doc-settings.ts';

const keys = Object.keys(configSchema.shape);
const read = (f: string) => readFileSync(f, 'utf8');
const readme = settingsInTables('README.md', read('README.md'));
const docs = readdirSync('docs')
  .filter((f) => f.endsWith('.md'))
  .flatMap((f) => settingsInTables(`docs/${f}`, read(`docs/${f}`)));
const example = settingsInEnvExample(read('.env.example'));

const problems = (rows: DocSetting[], env = false) =>
  rows.flatMap((r) => {
    const why = defaultMismatch(r.name, r.stated, env);
    return why ? [`${r.file}:${r.line} ${r.name}: ${why}`] : [];
  });

describe('settings documentation', () => {
  it('lists every setting in the README tables', () => {
    const named = new Set(readme.map((r) => r.name));
    expect(keys.filter((k) => !named.has(k))).toEqual([]);
  });

  it('lists every setting in .env.example', () => {
    const named = new Set(example.map((r) => r.name));
    expect(keys.filter((k) => !named.has(k))).toEqual([]);
  });

  it('states the real defaults, and only real settings, in the README and .env.example', () => {
    expect(problems(readme)).toEqual([]);
    expect(problems(example, true)).toEqual([]);
  });

  it('agrees in every settings table of docs/', () => {
    // The pages do have such tables (jobs, front-ends, faces, generation, ...).
    expect(new Set(docs.map((d) => d.file)).size).toBeGreaterThanOrEqual(6);
    expect(problems(docs)).toEqual([]);
  });
});

describe('reading settings tables', () => {
  const page = [
    '| name | default | meaning |',
    '|---|---|---|',
    '| `FACECHAIN_HEALTH_PORT` / `_HOST` | 9464 / 127.0.0.1 | endpoint |',
    '| `FACECHAIN_RANK_MIN_FACE`/`MAX_FACE` | | sizes |',
    '| `TELEGRAM_WEBHOOK_URL`, `TELEGRAM_WEBHOOK_SECRET` | — | webhook |',
    '| `FACECHAIN_MAX_IMAGE_BYTES` | 20 MiB | cap |',
    '| `FACECHAIN_WORKER_THREADS` | 2 | wrong |',
    '| `FACECHAIN_NO_SUCH_THING` | 1 | stale |',
    '| `FACECHAIN_FUSION_BLEND` | `poisson` | wrong |',
    '| `TELEGRAM_BOT_TOKEN` | 123 | a literal for an unset setting |',
    '',
    '| command | what |',
    '|---|---|',
    '| `FACECHAIN_QUEUE_PREFIX` | no default column: not a settings table |',
  ].join('\n');
  const rows = settingsInTables('x.md', page);

  it('expands shorthand names and pairs their defaults', () => {
    expect(rows.slice(0, 6).map((r) => [r.name, r.stated])).toEqual([
      ['FACECHAIN_HEALTH_PORT', '9464'],
      ['FACECHAIN_HEALTH_HOST', '127.0.0.1'],
      ['FACECHAIN_RANK_MIN_FACE', ''],
      ['FACECHAIN_RANK_MAX_FACE', ''],
      ['TELEGRAM_WEBHOOK_URL', '—'],
      ['TELEGRAM_WEBHOOK_SECRET', '—'],
    ]);
    expect(rows.map((r) => r.name)).not.toContain('FACECHAIN_QUEUE_PREFIX');
  });

  it('finds wrong defaults, unknown settings and literals for unset ones', () => {
    expect(problems(rows)).toEqual([
      'x.md:7 FACECHAIN_WORKER_THREADS: states "2", config default is 1',
      'x.md:8 FACECHAIN_NO_SUCH_THING: no such setting in core/config.ts',
      'x.md:9 FACECHAIN_FUSION_BLEND: states "poisson", config default is "feather"',
      'x.md:10 TELEGRAM_BOT_TOKEN: states "123", but it has no default',
    ]);
  });

  it('reads .env.example lines and checks their values', () => {
    const env = settingsInEnvExample('# WEB_PORT=7861\n# FACECHAIN_DATA_DIR=data\nREDIS_URL=redis://x\n');
    expect(problems(env, true)).toEqual(['.env.example:1 WEB_PORT: states "7861", config default is 7860']);
  });
});
