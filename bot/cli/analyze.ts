/** `facechain analyze <image…> [--embedding]`: one JSON line per input, errors included. */
import { readFile } from 'node:fs/promises';
import { errorInfo } from '../../base/errors.ts';
import { config } from '../../core/config.ts';
import { FaceAnalyzer } from '../../core/face/analyzer.ts';
import type { Face, ImageAnalysis } from '../../core/face/types.ts';
import { ModelStore } from '../../models/store.ts';
import { parseCommandLine } from './args.ts';
import type { CliCommand } from './main.ts';

const r1 = (v: number) => Math.round(v * 10) / 10;
const r3 = (v: number) => Math.round(v * 1000) / 1000;

/** The line format, numbers rounded for reading. */
export function faceJson(f: Face): Record<string, unknown> {
  return {
    box: f.box.map(r1),
    score: r3(f.score),
    landmarks: f.landmarks.map(([x, y]) => [r1(x), r1(y)]),
    pose: { yaw: r1(f.pose.yaw), pitch: r1(f.pose.pitch), roll: r1(f.pose.roll) },
    eyesOpen: f.eyesOpen,
    sharpness: r1(f.sharpness),
    age: r1(f.age),
    gender: f.gender,
    genderScore: r3(f.genderScore),
    ...(f.embedding ? { embedding: Array.from(f.embedding, (v) => Math.round(v * 1e6) / 1e6) } : {}),
  };
}

export function analysisJson(file: string, a: ImageAnalysis): Record<string, unknown> {
  return { file, width: a.width, height: a.height, rotation: a.rotation, faces: a.faces.map(faceJson) };
}

export const command: CliCommand = {
  summary: 'Find and describe every face in each image (one JSON line per input).',
  usage: 'facechain analyze <image…> [--embedding]',
  async run(argv) {
    const args = parseCommandLine(argv, {
      flags: ['embedding'],
      positionals: { min: 1, max: Infinity, what: 'image' },
    });
    const files = args.positionals;
    const analyzer = await FaceAnalyzer.load(new ModelStore(config().modelsDir));
    let failed = 0;
    try {
      for (const file of files) {
        let line: Record<string, unknown>;
        try {
          const bytes = await readFile(file).catch((e: NodeJS.ErrnoException) => {
            throw Object.assign(new Error(`cannot read ${file}: ${e.code ?? e.message}`), {
              code: 'unreadable',
            });
          });
          line = analysisJson(file, await analyzer.analyze(bytes, { embedding: args.flag('embedding') }));
        } catch (e) {
          failed++;
          const info = errorInfo(e);
          const code = (e as { code?: string }).code === 'unreadable' ? 'unreadable_file' : info.code;
          line = { file, error: { code, message: info.message } };
        }
        process.stdout.write(`${JSON.stringify(line)}\n`);
      }
    } finally {
      await analyzer.dispose();
    }
    return failed ? 1 : 0;
  },
};
