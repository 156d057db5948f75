/**
 * Which artifact store a process uses: the S3 bucket when FACECHAIN_ARTIFACTS_URL names one,
 * else the local folder. The location is plain data, so the job layer hands the same one to its
 * worker threads and every part of a process (and every machine) sees the same files.
 */
import { type ArtifactStore, LocalArtifactStore } from './artifacts.ts';
import type { S3Settings } from './s3-settings.ts';
import { S3ArtifactStore } from './s3-store.ts';

export interface ArtifactsLocation {
  /** The local folder (used when s3 is not set). */
  dir: string;
  s3?: S3Settings;
}

export function openArtifactStore(where: ArtifactsLocation | string): ArtifactStore {
  const loc = typeof where === 'string' ? { dir: where } : where;
  return loc.s3 ? new S3ArtifactStore(loc.s3) : new LocalArtifactStore(loc.dir);
}
