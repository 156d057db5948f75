/** `facechain models list | fetch [id…] | verify [id…]` */
import { config } from '../../core/config.ts';
import { ModelStore } from '../../models/store.ts';
import { parseCommandLine, UsageError } from './args.ts';
import type { CliCommand } from './main.ts';

export const command: CliCommand = {
  summary: 'List, fetch and verify model files (cached under FACECHAIN_MODELS_DIR).',
  usage: 'facechain models list | fetch [--all] [--force] [id…] | verify [id…]',
  async run(argv) {
    const [sub, ...rest] = argv;
    const shape: Record<string, Parameters<typeof parseCommandLine>[1]> = {
      list: {},
      fetch: { flags: ['all', 'force'], positionals: { max: Infinity, what: 'model id' } },
      verify: { positionals: { max: Infinity, what: 'model id' } },
    };
    if (!sub || !shape[sub]) throw new UsageError(sub ? `Unknown subcommand "${sub}".` : 'Which subcommand?');
    const args = parseCommandLine(rest, shape[sub]);
    const ids = args.positionals;
    const store = new ModelStore(config().modelsDir);
    // Unknown ids fail before any work.
    const unknown = ids.find((id) => !store.manifests.has(id));
    if (unknown)
      throw new UsageError(
        `There is no model "${unknown}". Known models: ${[...store.manifests.keys()].join(', ')}.`,
        'unknown_model',
      );
    switch (sub) {
      case 'list': {
        for (const m of store.manifests.values()) {
          const states = await store.status(m.id);
          const state = states.every((s) => s.state === 'ok')
            ? 'installed'
            : states.map((s) => s.state).join(',');
          const size = m.files.reduce((a, f) => a + (f.size ?? 0), 0);
          const flags = [m.optional ? 'optional' : '', m.verified ? '' : 'unverified']
            .filter(Boolean)
            .join(' ');
          process.stdout.write(
            `${m.id.padEnd(24)} ${m.task.padEnd(20)} ${(size / 1e6).toFixed(1).padStart(7)} MB  ${state.padEnd(10)} ${m.licence.spdx} ${flags}\n`,
          );
        }
        return 0;
      }
      case 'fetch': {
        const targets = ids.length
          ? ids
          : args.flag('all')
            ? [...store.manifests.keys()]
            : store.defaultIds();
        process.stderr.write(`fetching ${targets.length} model(s) into ${store.cacheDir}\n`);
        const res = await store.fetch(targets, { force: args.flag('force') });
        for (const s of res) process.stdout.write(`${s.model}/${s.file}: ${s.state}\n`);
        return res.every((s) => s.state === 'ok') ? 0 : 1;
      }
      case 'verify': {
        const targets = ids.length ? ids : store.defaultIds();
        let bad = 0;
        for (const id of targets) {
          for (const s of await store.status(id)) {
            if (s.state !== 'ok') bad++;
            process.stdout.write(`${s.model}/${s.file}: ${s.state}${s.detail ? ` (${s.detail})` : ''}\n`);
          }
        }
        if (bad)
          process.stderr.write(`${bad} file(s) missing or corrupt: run "npx facechain models fetch"\n`);
        return bad ? 1 : 0;
      }
      default:
        throw new UsageError(`Unknown subcommand "${sub}".`);
    }
  },
};
