/**
 * The user's face for try-on from what the command line is given: a photo of the user (its
 * largest face), or a folder written by `facechain prepare` (its template crop and the mean
 * identity embedding from report.json, as the try-on job gets them from a prepared identity).
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../base/errors.ts';
import type { FaceAnalyzer } from '../face/analyzer.ts';
import { l2normalize } from '../face/embedding.ts';
import { fusionInput, largestFace, uprightImage } from '../fusion/faces.ts';
import type { FaceInImage } from '../fusion/fuser.ts';
import { decodeImage } from '../image/codec.ts';

export interface UserFace {
  face: FaceInImage;
  embedding: Float32Array;
  /** 'photo' or 'prepared'. */
  from: 'photo' | 'prepared';
}

async function readOrFail(p: string, what: string): Promise<Buffer> {
  try {
    return await readFile(p);
  } catch (e) {
    throw new InputError(
      'unreadable_file',
      `Cannot read ${what} ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`,
    );
  }
}

export async function loadUserFace(analyzer: FaceAnalyzer, source: string): Promise<UserFace> {
  const isDir = await stat(source).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (isDir) {
    let report: { template?: { image?: unknown }; identity?: { embedding?: unknown } };
    try {
      report = JSON.parse(
        (await readOrFail(path.join(source, 'report.json'), 'the prepared identity')).toString(),
      );
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError('bad_identity', `${source}/report.json is not valid JSON.`);
    }
    const image = report.template?.image;
    const emb = report.identity?.embedding;
    if (typeof image !== 'string' || !Array.isArray(emb) || !emb.every((v) => typeof v === 'number')) {
      throw new InputError(
        'bad_identity',
        `${source}/report.json has no template image or identity embedding; run "facechain prepare" again.`,
      );
    }
    const crop = path.resolve(source, image);
    if (!crop.startsWith(path.resolve(source) + path.sep))
      throw new InputError('bad_identity', `${source}/report.json names a file outside the folder.`);
    const rgb = await decodeImage(await readOrFail(crop, 'the template crop'));
    const a = await analyzer.analyzeRgb(rgb, { orientation: false });
    const face = largestFace(a, `prepared crop ${crop}`);
    return {
      face: fusionInput(rgb, face),
      embedding: l2normalize(Float32Array.from(emb as number[])),
      from: 'prepared',
    };
  }
  const rgb = await decodeImage(await readOrFail(source, 'the user photo'));
  const a = await analyzer.analyzeRgb(rgb, { embedding: true });
  const face = largestFace(a, `user photo ${source}`);
  return {
    face: fusionInput(uprightImage(rgb, a), face),
    embedding: face.embedding as Float32Array,
    from: 'photo',
  };
}
