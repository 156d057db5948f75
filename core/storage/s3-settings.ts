/**
 * Where an S3-compatible artifact store is and how to sign for it, built from the settings
 * (core/config.ts reads the environment; this only interprets values). The object is plain
 * data so it can cross into worker threads; it holds the secret key, so it is never logged
 * (S3ArtifactStore's toJSON leaves the credentials out).
 */
import { ConfigError } from '../../base/errors.ts';

export interface S3Settings {
  bucket: string;
  /** '' or a key prefix ending in '/', e.g. 'facechain/'. Objects are <prefix><user>/<sha256>.<ext>. */
  prefix: string;
  region: string;
  /** Origin of an S3-compatible server (MinIO, R2, …); undefined = AWS's regional endpoint. */
  endpoint?: string;
  /** Bucket in the path (http://host/bucket/key) instead of the host name (http://bucket.host/key). */
  pathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Multipart part size in bytes: streams larger than this go up in parts of this size. */
  partSize: number;
}

export interface S3SettingInputs {
  url: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  region?: string;
  defaultRegion?: string;
  endpointUrl?: string;
  endpointUrlS3?: string;
  pathStyle: 'auto' | 'true' | 'false';
  partMb: number;
}

// AWS's rules for new buckets (3-63 chars, lower case, digits, dots, hyphens).
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX_SEGMENT_RE = /^[A-Za-z0-9._-]+$/;

/** "s3://bucket" or "s3://bucket/some/prefix" → bucket and a normalised prefix ('' or 'some/prefix/'). */
export function parseArtifactsUrl(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/?#]+)(\/[^?#]*)?$/.exec(url.trim());
  const bad = (why: string) =>
    new ConfigError(
      'bad_artifacts_url',
      `FACECHAIN_ARTIFACTS_URL "${url}" ${why}. Expected s3://<bucket>[/<prefix>], e.g. s3://facechain/prod (docs/storage.md).`,
    );
  if (!m) throw bad('is not an s3:// URL');
  const bucket = m[1];
  if (!BUCKET_RE.test(bucket) || bucket.includes('..'))
    throw bad(`names "${bucket}", which is not a bucket name`);
  const segments = (m[2] ?? '').split('/').filter(Boolean);
  for (const s of segments)
    if (!PREFIX_SEGMENT_RE.test(s) || s === '.' || s === '..')
      throw bad(`has a prefix segment "${s}" (use letters, digits, '.', '_' and '-')`);
  return { bucket, prefix: segments.length ? `${segments.join('/')}/` : '' };
}

function origin(value: string, name: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new ConfigError('bad_s3_endpoint', `${name} "${value}" is not a URL (e.g. http://127.0.0.1:9000).`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new ConfigError('bad_s3_endpoint', `${name} must be an http:// or https:// URL, not "${value}".`);
  if (u.pathname !== '/' || u.search)
    throw new ConfigError(
      'bad_s3_endpoint',
      `${name} must be the server's address only (scheme, host, port), without a path: "${value}".`,
    );
  return u.origin;
}

export function s3Settings(i: S3SettingInputs): S3Settings {
  const { bucket, prefix } = parseArtifactsUrl(i.url);
  if (!i.accessKeyId || !i.secretAccessKey)
    throw new ConfigError(
      's3_credentials_missing',
      'FACECHAIN_ARTIFACTS_URL names an S3 store but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set (docs/storage.md).',
    );
  // The AWS tools' precedence: the S3-specific endpoint, then the general one.
  const endpointName = i.endpointUrlS3 ? 'AWS_ENDPOINT_URL_S3' : 'AWS_ENDPOINT_URL';
  const raw = i.endpointUrlS3 ?? i.endpointUrl;
  const endpoint = raw ? origin(raw, endpointName) : undefined;
  // Auto: path style for a custom server (MinIO and most self-hosted ones expect it) and for
  // dotted bucket names (a dotted host name fails AWS's TLS certificate); else virtual-hosted.
  const pathStyle =
    i.pathStyle === 'auto' ? endpoint !== undefined || bucket.includes('.') : i.pathStyle === 'true';
  return {
    bucket,
    prefix,
    region: i.region ?? i.defaultRegion ?? 'us-east-1',
    endpoint,
    pathStyle,
    accessKeyId: i.accessKeyId,
    secretAccessKey: i.secretAccessKey,
    sessionToken: i.sessionToken,
    partSize: i.partMb * 1024 * 1024,
  };
}
