/** `facechain compare <imageA> <imageB>`: cosine similarity of the largest faces. */
import { readFile } from 'node:fs/promises';
import { InputError } from '../../base/errors.ts';
import { config } from '../../core/config.ts';
import { FaceAnalyzer } from '../../core/face/analyzer.ts';
import { cosine } from '../../core/face/embedding.ts';
import { ModelStore } from '../../models/store.ts';
import { parseCommandLine } from './args.ts';
import type { CliCommand } from './main.ts';

export const command: CliCommand = {
  summary: 'Compare the largest faces of two images: cosine similarity and same-person verdict.',
  usage: 'facechain compare <imageA> <imageB>',
  async run(argv) {
    const files = parseCommandLine(argv, { positionals: { min: 2, max: 2, what: 'image' } }).positionals;
    const threshold = config().FACECHAIN_SAME_PERSON_THRESHOLD;
    const analyzer = await FaceAnalyzer.load(new ModelStore(config().modelsDir));
    try {
      const embeddings: Float32Array[] = [];
      for (const file of files) {
        const a = await analyzer.analyze(await readFile(file), { embedding: true });
        const face = a.faces[0];
        if (!face) throw new InputError('no_face', `No face was found in ${file}.`, { context: { file } });
        embeddings.push(face.embedding!);
      }
      const similarity = cosine(embeddings[0]!, embeddings[1]!);
      process.stdout.write(
        `${JSON.stringify({ a: files[0], b: files[1], similarity: Math.round(similarity * 10000) / 10000, samePerson: similarity >= threshold, threshold })}\n`,
      );
      return 0;
    } finally {
      await analyzer.dispose();
    }
  },
};
