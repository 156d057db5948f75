/** `facechain models list | fetch [id…] | verify [id…]` */
import { config } from '../../core/config.ts';
import { ModelStore } from '../../models/store.ts';
import type { CliCommand } from './main.ts';

export const command: CliCommand = {
  summary: 'List, fetch and verify model files (cached under FACECHAIN_MODELS_DIR).',
  usage: 'facechain models list | fetch [--all] [--force] [id…] | verify [id…]',
  async run(argv) {
    const [sub, ...rest] = argv;
    const store = new ModelStore(config().modelsDir);
    const ids = rest.filter((a) => !a.startsWith('--'));
    for (const id of ids) store.manifest(id); // unknown ids fail before any work
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
          : rest.includes('--all')
            ? [...store.manifests.keys()]
            : store.defaultIds();
        process.stderr.write(`fetching ${targets.length} model(s) into ${store.cacheDir}\n`);
        const res = await store.fetch(targets, { force: rest.includes('--force') });
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
        process.stderr.write(`usage: ${this.usage}\n`);
        return 2;
    }
  },
};
