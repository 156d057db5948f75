/** `facechain prepare <photos…> --out DIR`: FaceChain training set with per-photo reasons. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { config } from '../../core/config.ts';
import { FaceAnalyzer } from '../../core/face/analyzer.ts';
import { prepareIdentity } from '../../core/identity/prepare.ts';
import { ModelStore } from '../../models/store.ts';
import { parseCommandLine } from './args.ts';
import type { CliCommand } from './main.ts';

export const command: CliCommand = {
  summary: 'Check 1-20 photos of one person and write aligned 512x512 crops, metadata.jsonl and report.json.',
  usage: 'facechain prepare <photos…> --out DIR',
  async run(argv) {
    const args = parseCommandLine(argv, {
      strings: ['out'],
      required: ['out'],
      positionals: { min: 1, max: Infinity, what: 'photo' },
    });
    const out = args.string('out')!;
    const files = args.positionals;
    const photos = await Promise.all(
      files.map(async (f) => ({ name: path.basename(f), bytes: await readFile(f) })),
    );
    const analyzer = await FaceAnalyzer.load(new ModelStore(config().modelsDir));
    try {
      const report = await prepareIdentity(analyzer, photos, out, {
        onProgress: (done, total) => process.stderr.write(`analysed ${done}/${total}\n`),
      });
      for (const a of report.accepted)
        process.stdout.write(`accepted ${a.file} -> ${a.image} "${a.caption}"\n`);
      for (const r of report.rejected) process.stdout.write(`rejected ${r.file}: ${r.code}: ${r.message}\n`);
      process.stdout.write(
        `template ${report.template.file}; identity ${report.identity.gender}, ${report.identity.ageBand}; wrote ${path.join(out, 'report.json')}\n`,
      );
      return 0;
    } finally {
      await analyzer.dispose();
    }
  },
};
