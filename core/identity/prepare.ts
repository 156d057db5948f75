/**
 * Preparing an identity (FaceChain's preprocessing, with reasons a user can act on):
 * analyse each photo, reject unusable ones with a code per photo, cut FaceChain's 512x512
 * aligned crops, caption them, choose the template face and the identity embedding.
 *
 * Writes DIR/images/<n>.png, DIR/metadata.jsonl (FaceChain's format; file names relative to
 * images/, and the same file inside images/ so that folder is a ready image-folder dataset),
 * and DIR/report.json.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errorInfo, InputError, throwIfAborted } from '../../base/errors.ts';
import { config } from '../config.ts';
import { facechainCropAffine } from '../face/align.ts';
import type { FaceAnalyzer } from '../face/analyzer.ts';
import { cosine, meanEmbedding } from '../face/embedding.ts';
import type { Face } from '../face/types.ts';
import { decodeImage, encodePng } from '../image/codec.ts';
import { composeAffine, warpRgb } from '../image/warp.ts';
import { type AgeBand, ageBand, caption, type Gender, metadataLine } from './caption.ts';
import { GOOD_PHOTO, type ReasonParams, type RejectCode, rejectionText } from './reasons.ts';

export const MAX_PHOTOS = 20;
export const CROP_SIZE = 512;

export interface PrepareThresholds {
  /** The largest face must be at least this many times the area of the second (FaceChain: 4). */
  dominance: number;
  /** Smallest usable face (larger box side, pixels). */
  minFaceSize: number;
  /** Variance of the Laplacian on the aligned 112x112 face. */
  minSharpness: number;
  /** Both eyes below this openness count as closed. */
  minEyeOpen: number;
  maxYaw: number;
  maxPitch: number;
  /** Cosine at or above which two photos are the same shot (near-identical embedding). */
  duplicate: number;
  /** Cosine below which a face is a different person from the majority. */
  samePerson: number;
}

export function defaultThresholds(): PrepareThresholds {
  return {
    dominance: 4,
    minFaceSize: 96,
    minSharpness: 30,
    minEyeOpen: 0.3,
    maxYaw: 45,
    maxPitch: 40,
    duplicate: 0.92,
    samePerson: config().FACECHAIN_SAME_PERSON_THRESHOLD,
  };
}

export interface PhotoInput {
  name: string;
  bytes: Uint8Array;
}

export interface PrepareOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  thresholds?: Partial<PrepareThresholds>;
}

export interface FaceQuality {
  /** 0..1, higher is better: detector confidence x sharpness x frontal pose x size x eyes. */
  score: number;
  detectorScore: number;
  sharpness: number;
  faceSize: number;
  pose: Face['pose'];
  eyesOpen: boolean;
}

export interface AcceptedPhoto {
  file: string;
  image: string;
  caption: string;
  quality: FaceQuality;
  age: number;
  gender: Gender;
}

export interface RejectedPhoto {
  file: string;
  code: string;
  message: string;
  /** The reason's parameters (core/identity/reasons.ts), so a front-end can word it in any language. */
  params?: ReasonParams;
}

export interface PrepareReport {
  accepted: AcceptedPhoto[];
  rejected: RejectedPhoto[];
  template: { file: string; image: string };
  identity: { gender: Gender; genderScore: number; ageBand: AgeBand; age: number; embedding: number[] };
  thresholds: PrepareThresholds;
}

interface Candidate {
  index: number;
  name: string;
  face: Face;
  embedding: Float32Array;
  quality: FaceQuality;
  crop: Uint8Array;
}

function reject(file: string, code: RejectCode, extra: ReasonParams = {}): RejectedPhoto {
  const params = { name: file, ...extra };
  return { file, code, message: rejectionText(code, params), params };
}

function qualityOf(f: Face): FaceQuality {
  const rad = Math.PI / 180;
  const pose = Math.max(0, Math.cos(f.pose.yaw * rad) * Math.cos(f.pose.pitch * rad));
  const score =
    f.score *
    Math.min(1, f.sharpness / 200) *
    pose *
    Math.min(1, f.size / 256) *
    (0.5 + 0.25 * (f.eyeOpenScores[0] + f.eyeOpenScores[1]));
  return {
    score,
    detectorScore: f.score,
    sharpness: f.sharpness,
    faceSize: f.size,
    pose: f.pose,
    eyesOpen: f.eyesOpen,
  };
}

function area(f: Face): number {
  return (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]);
}

/** The per-photo checks, in the order a user should fix them. */
function checkFace(name: string, faces: Face[], t: PrepareThresholds): RejectedPhoto | Face {
  if (faces.length === 0) return reject(name, 'no_face');
  const [first, second] = faces.slice().sort((a, b) => area(b) - area(a));
  if (second && area(first!) < t.dominance * area(second))
    return reject(name, 'several_faces', { faces: faces.length });
  const f = first!;
  if (f.size < t.minFaceSize)
    return reject(name, 'face_too_small', { size: Math.round(f.size), min: t.minFaceSize });
  if (Math.abs(f.pose.yaw) > t.maxYaw || Math.abs(f.pose.pitch) > t.maxPitch)
    return reject(name, 'extreme_pose', { yaw: Math.round(f.pose.yaw), pitch: Math.round(f.pose.pitch) });
  if (Math.max(f.eyeOpenScores[0], f.eyeOpenScores[1]) < t.minEyeOpen) return reject(name, 'eyes_closed');
  if (f.sharpness < t.minSharpness) return reject(name, 'too_blurry');
  return f;
}

/**
 * Turn 1-20 photos into a FaceChain training set in outDir. Throws InputError when the photo
 * count is wrong or when no photo survives (the message lists each photo's reason).
 */
export async function prepareIdentity(
  analyzer: FaceAnalyzer,
  photos: PhotoInput[],
  outDir: string,
  opts: PrepareOptions = {},
): Promise<PrepareReport> {
  const t = { ...defaultThresholds(), ...opts.thresholds };
  if (photos.length === 0) throw new InputError('no_photos', `No photos were given. ${GOOD_PHOTO}`);
  if (photos.length > MAX_PHOTOS) {
    throw new InputError(
      'too_many_photos',
      `${photos.length} photos were given; at most ${MAX_PHOTOS} are accepted. Choose your best ${MAX_PHOTOS}.`,
    );
  }
  const rejected: RejectedPhoto[] = [];
  const candidates: Candidate[] = [];
  for (const [index, photo] of photos.entries()) {
    throwIfAborted(opts.signal);
    try {
      const img = await decodeImage(photo.bytes);
      const d = await analyzer.analyzeDetailed(img, { embedding: true, signal: opts.signal });
      const checked = checkFace(photo.name, d.analysis.faces, t);
      if ('code' in checked) {
        rejected.push(checked);
      } else {
        const m = composeAffine(facechainCropAffine(checked.landmarks, CROP_SIZE), d.frame);
        const crop = warpRgb(d.pyramid, m, CROP_SIZE, CROP_SIZE, [255, 255, 255]);
        candidates.push({
          index,
          name: photo.name,
          face: checked,
          embedding: checked.embedding!,
          quality: qualityOf(checked),
          crop: await encodePng(crop),
        });
      }
    } catch (e) {
      if ((e as { code?: string }).code === 'cancelled') throw e;
      const info = errorInfo(e);
      if (info.code === 'internal') throw e;
      rejected.push({ file: photo.name, code: info.code, message: `${photo.name}: ${info.message}` });
    }
    opts.onProgress?.(index + 1, photos.length);
  }

  // Duplicates: of two near-identical shots keep the better one.
  const byQuality = candidates.slice().sort((a, b) => b.quality.score - a.quality.score);
  const unique: Candidate[] = [];
  for (const c of byQuality) {
    const twin = unique.find((u) => cosine(u.embedding, c.embedding) >= t.duplicate);
    if (twin) {
      rejected.push(reject(c.name, 'duplicate', { other: twin.name }));
    } else unique.push(c);
  }

  // The majority identity: the face most others agree with; faces far from it are someone else.
  let kept = unique;
  if (unique.length >= 2) {
    const support = unique.map(
      (c) => unique.filter((o) => o !== c && cosine(o.embedding, c.embedding) >= t.samePerson).length,
    );
    let ref = 0;
    for (let i = 1; i < unique.length; i++) if (support[i]! > support[ref]!) ref = i;
    const anchor = unique[ref]!;
    kept = [];
    for (const c of unique) {
      if (c === anchor || cosine(c.embedding, anchor.embedding) >= t.samePerson) kept.push(c);
      else rejected.push(reject(c.name, 'different_person'));
    }
  }

  if (kept.length === 0) {
    const reasons = rejected.map((r) => `${r.file}: ${r.code} (${r.message})`).join('; ');
    throw new InputError('no_usable_photos', `None of the photos can be used. ${reasons}. ${GOOD_PHOTO}`, {
      context: { rejected },
    });
  }

  kept.sort((a, b) => a.index - b.index);
  let maleVotes = 0;
  let ageSum = 0;
  for (const c of kept) {
    maleVotes += c.face.gender === 'male' ? c.face.genderScore : 1 - c.face.genderScore;
    ageSum += c.face.age;
  }
  const maleShare = maleVotes / kept.length;
  const gender: Gender = maleShare >= 0.5 ? 'male' : 'female';
  const age = ageSum / kept.length;
  const band = ageBand(age);
  const text = caption(gender, band);

  throwIfAborted(opts.signal);
  const imagesDir = path.join(outDir, 'images');
  await rm(imagesDir, { recursive: true, force: true });
  await mkdir(imagesDir, { recursive: true });
  const accepted: AcceptedPhoto[] = [];
  const lines: string[] = [];
  for (const [n, c] of kept.entries()) {
    const file = `${n}.png`;
    await writeFile(path.join(imagesDir, file), c.crop);
    lines.push(metadataLine(file, text));
    accepted.push({
      file: c.name,
      image: `images/${file}`,
      caption: text,
      quality: c.quality,
      age: c.face.age,
      gender: c.face.gender,
    });
  }
  const jsonl = `${lines.join('\n')}\n`;
  await writeFile(path.join(outDir, 'metadata.jsonl'), jsonl);
  await writeFile(path.join(imagesDir, 'metadata.jsonl'), jsonl);

  let best = 0;
  for (let i = 1; i < kept.length; i++) if (kept[i]!.quality.score > kept[best]!.quality.score) best = i;
  const report: PrepareReport = {
    accepted,
    rejected: rejected.sort(
      (a, b) => photos.findIndex((p) => p.name === a.file) - photos.findIndex((p) => p.name === b.file),
    ),
    template: { file: kept[best]!.name, image: accepted[best]!.image },
    identity: {
      gender,
      genderScore: gender === 'male' ? maleShare : 1 - maleShare,
      ageBand: band,
      age,
      embedding: Array.from(meanEmbedding(kept.map((c) => c.embedding))),
    },
    thresholds: t,
  };
  await writeFile(path.join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}
