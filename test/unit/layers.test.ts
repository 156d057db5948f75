/**
 * The layers import one way: front-ends (bot) → commands → jobs and queue → core → models, with
 * errors, logging and the message catalogs (base) at the bottom, usable by all. This fails on any
 * import that runs up the stack. The one exception is models/fixtures: builders of tiny model
 * folders for tests, benches and `facechain generate --write-fixture`, which write files core
 * reads (safetensors, scheduler configs) and so sit above core.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LAYERS = ['base', 'models', 'core', 'queue', 'commands', 'bot'] as const;

/** A file's layer: its top folder; models/fixtures counts as just above core. */
function rank(file: string): number | undefined {
  if (file.startsWith('models/fixtures/')) return LAYERS.indexOf('core') + 0.5;
  const top = file.split('/')[0] as (typeof LAYERS)[number];
  const i = LAYERS.indexOf(top);
  return i < 0 ? undefined : i;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...sources(rel));
    else if (/\.(ts|js)$/.test(e.name)) out.push(rel);
  }
  return out;
}

/** Relative imports (static, dynamic and `new URL(...)` module references) of a source file. */
function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom|\bimport\s*\(|\bimport|new URL\()\s*['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const m of text.matchAll(re))
    out.push(path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1])));
  return out;
}

function upwardImports(files: Array<{ file: string; text: string }>): string[] {
  const bad: string[] = [];
  for (const { file, text } of files) {
    const from = rank(file);
    if (from === undefined) continue;
    for (const target of importsOf(file, text)) {
      const to = rank(target);
      if (to !== undefined && to > from) bad.push(`${file} imports ${target}`);
    }
  }
  return bad;
}

describe('layers', () => {
  it('no import runs up the stack', () => {
    const files = LAYERS.flatMap((l) => sources(l)).map((file) => ({
      file,
      text: readFileSync(path.join(ROOT, file), 'utf8'),
    }));
    expect(files.length).toBeGreaterThan(100);
    expect(upwardImports(files)).toEqual([]);
  });

  it('catches an upward import, a dynamic one too', () => {
    expect(
      upwardImports([
        { file: 'core/face/x.ts', text: "import { Producer } from '../../queue/producer.ts';" },
        { file: 'models/y.ts', text: "const m = await import('../core/config.ts');" },
        { file: 'queue/z.ts', text: "import { en } from '../base/i18n/en.ts';" },
      ]),
    ).toEqual(['core/face/x.ts imports queue/producer.ts', 'models/y.ts imports core/config.ts']);
  });
});
