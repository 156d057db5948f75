/**
 * The user's identity as the pipelines need it, from what prepare-identity stored: the template
 * face (FaceChain's best-quality aligned crop, analysed here for its landmarks), the identity
 * embedding (mean of the accepted faces) and the gender / age band / age of the prompts.
 * Everything is read from the user's artifacts; nothing biometric is logged.
 */
import { z } from 'zod';
import { InputError, ModelError } from '../../base/errors.ts';
import type { FaceAnalyzer } from '../face/index.ts';
import { fusionInput, largestFace, uprightImage } from '../fusion/faces.ts';
import type { FaceInImage } from '../fusion/fuser.ts';
import { decodeImage } from '../image/codec.ts';
import type { ArtifactStore } from '../storage/artifacts.ts';
import { type AgeBand, ageBand, type Gender } from './caption.ts';

/** The stored files of a prepared identity (the job layer's identity record has these fields). */
export interface IdentityFiles {
  id: string;
  /** Artifact refs of the accepted 512² crops, in the report's order. */
  crops: string[];
  embedding?: string;
  report?: string;
}

export interface IdentityFace {
  id: string;
  /** The template face in its 512² crop. */
  face: FaceInImage;
  /** L2-normalised identity embedding. */
  embedding: Float32Array;
  gender: Gender;
  ageBand: AgeBand;
  age: number;
  /** Artifact ref of the crop used as the template face. */
  templateCrop: string;
}

const reportSchema = z.object({
  accepted: z.array(z.object({ image: z.string() })),
  template: z.object({ image: z.string() }),
  identity: z.object({
    gender: z.enum(['male', 'female']),
    ageBand: z.enum(['child', 'adult', 'mature']),
    age: z.number(),
    embedding: z.array(z.number()),
  }),
});

function normalised(v: number[]): Float32Array {
  const out = Float32Array.from(v);
  let n = 0;
  for (const x of out) n += x * x;
  n = Math.sqrt(n);
  if (!(n > 0)) throw new ModelError('bad_embedding', 'The stored identity embedding is empty.');
  for (let i = 0; i < out.length; i++) out[i] /= n;
  return out;
}

/** Throws InputError when the identity does not exist or is not prepared yet. */
export async function loadIdentityFace(
  analyzer: FaceAnalyzer,
  artifacts: ArtifactStore,
  identityId: string,
  identity: IdentityFiles | undefined,
  signal?: AbortSignal,
): Promise<IdentityFace> {
  if (!identity || identity.crops.length === 0) {
    throw new InputError(
      'no_identity',
      `There is no prepared face "${identityId}" for you yet. Send a few photos of yourself to prepare one first.`,
    );
  }
  let crop = identity.crops[0];
  let embedding: Float32Array | undefined;
  let info: Partial<Pick<IdentityFace, 'gender' | 'ageBand' | 'age'>> = {};
  if (identity.report) {
    const report = reportSchema.parse(JSON.parse((await artifacts.read(identity.report)).toString()));
    // Crops were stored in the order of report.accepted.
    const best = report.accepted.findIndex((a) => a.image === report.template.image);
    if (best >= 0 && identity.crops[best]) crop = identity.crops[best];
    embedding = normalised(report.identity.embedding);
    info = {
      gender: report.identity.gender,
      ageBand: report.identity.ageBand,
      age: report.identity.age,
    };
  } else if (identity.embedding) {
    embedding = normalised(JSON.parse((await artifacts.read(identity.embedding)).toString()) as number[]);
  }
  const img = await decodeImage(await artifacts.read(crop));
  const analysis = await analyzer.analyzeRgb(img, { embedding: embedding === undefined, signal });
  const face = largestFace(analysis, 'prepared template photo');
  embedding ??= face.embedding;
  if (!embedding) throw new ModelError('no_embedding', 'The identity has no embedding.');
  return {
    id: identity.id,
    face: fusionInput(uprightImage(img, analysis), face),
    embedding,
    templateCrop: crop,
    // Records older than the report ref: the template face's own estimates.
    gender: info.gender ?? face.gender,
    ageBand: info.ageBand ?? ageBand(face.age),
    age: info.age ?? face.age,
  };
}

/** A face from one photo (zero-shot generation without a prepared identity): its largest face. */
export async function loadPhotoFace(
  analyzer: FaceAnalyzer,
  artifacts: ArtifactStore,
  ref: string,
  signal?: AbortSignal,
): Promise<IdentityFace> {
  const img = await decodeImage(await artifacts.read(ref));
  const analysis = await analyzer.analyzeRgb(img, { embedding: true, signal });
  const face = largestFace(analysis, 'photo');
  if (!face.embedding) throw new ModelError('no_embedding', 'The face analysis gave no embedding.');
  return {
    id: 'photo',
    face: fusionInput(uprightImage(img, analysis), face),
    embedding: face.embedding,
    templateCrop: ref,
    gender: face.gender,
    ageBand: ageBand(face.age),
    age: face.age,
  };
}
