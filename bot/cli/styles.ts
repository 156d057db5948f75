/** `facechain styles list | check | previews | import <FaceChain style .json files or folders>` */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../base/errors.ts';
import { config } from '../../core/config.ts';
import {
  convertFacechainStyle,
  FACECHAIN_BASES,
  writeImportedStyle,
} from '../../core/styles/import-facechain.ts';
import { styleCatalog } from '../../core/styles/index.ts';
import { renderStylePreview, storeStylePreview } from '../../core/styles/previews.ts';
import { parseCommandLine, UsageError } from './args.ts';
import type { CliCommand } from './main.ts';

async function jsonFiles(p: string): Promise<string[]> {
  const s = await stat(p).catch(() => undefined);
  if (!s) throw new InputError('not_found', `${p} does not exist.`);
  if (s.isFile()) return [p];
  const out: string[] = [];
  for (const e of await readdir(p, { withFileTypes: true })) {
    const q = path.join(p, e.name);
    if (e.isDirectory()) out.push(...(await jsonFiles(q)));
    else if (e.name.endsWith('.json')) out.push(q);
  }
  return out.sort();
}

export const command: CliCommand = {
  summary: 'List and check style packs; import FaceChain style JSON files as packs.',
  usage:
    'facechain styles list [--locale zh] | check | previews [--only id,id] [--force] [--model DIR] [--seed N] [--person female|male] | ' +
    'import <file.json|folder>… [--base <FaceChain base folder or base id>] ' +
    '[--out <dir, default FACECHAIN_STYLES_DIR>] [--facechain-root <FaceChain checkout, for preview images>]',
  async run(argv) {
    const [sub, ...rest] = argv;
    const shape: Record<string, Parameters<typeof parseCommandLine>[1]> = {
      list: { strings: ['locale'] },
      check: {},
      previews: { strings: ['only', 'model', 'seed', 'person'], flags: ['force'] },
      import: {
        strings: ['base', 'out', 'facechain-root'],
        positionals: { min: 1, max: Infinity, what: 'style file or folder' },
      },
    };
    if (!sub || !shape[sub]) throw new UsageError(sub ? `Unknown subcommand "${sub}".` : 'Which subcommand?');
    const args = parseCommandLine(rest, shape[sub]);
    switch (sub) {
      case 'list':
      case 'check': {
        const cat = await styleCatalog();
        if (sub === 'list')
          for (const s of cat.list(args.string('locale') ?? 'en'))
            process.stdout.write(
              `${s.id.padEnd(24)} ${s.base.padEnd(14)} ${s.name}${s.preview ? '' : '  (no preview)'}\n`,
            );
        for (const p of cat.problems) process.stderr.write(`broken: ${p.pack} [${p.code}] ${p.message}\n`);
        if (sub === 'check')
          process.stdout.write(`${cat.packs.size} packs OK, ${cat.problems.length} broken\n`);
        return cat.problems.length ? 1 : 0;
      }
      case 'previews': {
        // A picture per pack from the generation engine (GPU host), stored with the pack.
        const cat = await styleCatalog();
        const only = args
          .string('only')
          ?.split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        for (const id of only ?? [])
          if (!cat.packs.has(id)) throw new UsageError(`There is no style "${id}".`);
        const seed = args.int('seed', { min: 0, max: 2 ** 32 - 1 });
        const person = args.choice('person', ['female', 'male'] as const);
        const model = args.string('model');
        let failed = 0;
        for (const pack of cat.packs.values()) {
          if (only && !only.includes(pack.id)) continue;
          if (pack.previewPath && !args.flag('force')) {
            process.stderr.write(`${pack.id}: has a preview (use --force to make a new one)\n`);
            continue;
          }
          try {
            const jpeg = await renderStylePreview(pack, {
              ...(model ? { modelDir: path.resolve(model) } : {}),
              ...(seed !== undefined ? { seed } : {}),
              ...(person ? { person } : {}),
            });
            process.stdout.write(`${pack.id} → ${await storeStylePreview(pack, jpeg)}\n`);
          } catch (e) {
            failed++;
            process.stderr.write(`${pack.id}: ${(e as Error).message}\n`);
            // Without the model no pack can get one: say it once.
            if ((e as { code?: string }).code === 'not_available') return 1;
          }
        }
        return failed ? 1 : 0;
      }
      case 'import': {
        const out = args.string('out') ?? config().stylesDir;
        const root = args.string('facechain-root');
        const baseFlag = args.string('base');
        const inputs = args.positionals;
        let failed = 0;
        for (const input of inputs)
          for (const file of await jsonFiles(input)) {
            // FaceChain keeps styles in styles/<base folder>/<Name>.json: the folder names the base.
            const base = baseFlag ?? path.basename(path.dirname(file));
            try {
              if (!baseFlag && !FACECHAIN_BASES[base])
                throw new InputError(
                  'bad_facechain_style',
                  `cannot tell the base model from folder "${base}"; pass --base`,
                );
              const imported = convertFacechainStyle(JSON.parse(await readFile(file, 'utf8')), base, file);
              const r = await writeImportedStyle(imported, out, root);
              process.stdout.write(`${file} → ${r.dir}\n`);
              for (const w of r.warnings) process.stderr.write(`${file}: note: ${w}\n`);
            } catch (e) {
              failed++;
              process.stderr.write(`${file}: ${(e as Error).message}\n`);
            }
          }
        return failed ? 1 : 0;
      }
      default:
        throw new UsageError(`Unknown subcommand "${sub}".`);
    }
  },
};
