/**
 * A small S3 client on fetch + SigV4 (node:crypto): the dozen S3 operations the artifact store
 * uses, nothing else. The project's only S3 client (docs/DECISIONS.md, "S3 client: our own"):
 * S3ArtifactStore is its one user.
 *
 * Failures are sorted once, here:
 * - the server cannot be reached, times out, or answers 5xx/429/SlowDown: retried with
 *   exponential backoff, then a retryable ServiceError (the job is retried later);
 * - credentials refused, bucket missing, wrong region, clock skew: a ConfigError that names
 *   the setting to fix (retrying cannot help);
 * - "no such key/upload": returned to the caller as undefined/false, which knows what it means.
 * A ServiceError's message is for users (it can reach a chat); what failed and where is in its
 * context, for logs. No message or log names an object key (keys name users).
 */
import { createHash } from 'node:crypto';
import { ConfigError, ServiceError } from '../../base/errors.ts';
import { log } from '../../base/log.ts';
import type { S3Settings } from './s3-settings.ts';
import { xmlBlocks, xmlEncode, xmlRoot, xmlText } from './s3-xml.ts';
import { EMPTY_SHA256, encodeKeyPath, sha256Hex, signRequest } from './sigv4.ts';

const logger = log('s3');

export interface S3ClientOptions {
  /** Extra attempts after the first for transient failures (default 5: about 8 s in all). */
  retries?: number;
  /** First backoff; doubles each attempt, with jitter (default 250 ms). */
  retryBaseMs?: number;
  /** Deadline for a response's headers (default 30 s); a body then streams at its own pace. */
  timeoutMs?: number;
  /** Keys per listing page (S3's maximum and default: 1000; tests use small pages). */
  pageSize?: number;
}

export interface S3Object {
  key: string;
  size: number;
  /** Epoch ms. */
  lastModified: number;
}

export interface S3Upload {
  key: string;
  uploadId: string;
  /** Epoch ms. */
  initiated: number;
}

interface SendOptions {
  /** Operation name for errors and logs. */
  op: string;
  key?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Hex sha256 of the body when the caller already has it. */
  bodySha256?: string;
  /** Statuses handed back instead of thrown (404 for "not there"). */
  pass?: number[];
}

/** S3 error codes that mean "fix the configuration", with what to tell the operator. */
const CONFIG_CODES: Record<string, [code: string, hint: string]> = {
  InvalidAccessKeyId: ['artifact_store_credentials', 'check AWS_ACCESS_KEY_ID'],
  SignatureDoesNotMatch: ['artifact_store_credentials', 'check AWS_SECRET_ACCESS_KEY'],
  AccessDenied: ['artifact_store_credentials', 'these credentials may not use this bucket or prefix'],
  InvalidToken: ['artifact_store_credentials', 'check AWS_SESSION_TOKEN'],
  ExpiredToken: ['artifact_store_credentials', 'AWS_SESSION_TOKEN has expired; renew it'],
  TokenRefreshRequired: ['artifact_store_credentials', 'AWS_SESSION_TOKEN has expired; renew it'],
  NoSuchBucket: ['artifact_store_bucket', 'create the bucket or fix FACECHAIN_ARTIFACTS_URL'],
  PermanentRedirect: ['artifact_store_region', 'set AWS_REGION to the bucket’s region'],
  AuthorizationHeaderMalformed: ['artifact_store_region', 'set AWS_REGION to the bucket’s region'],
  IllegalLocationConstraintException: ['artifact_store_region', 'set AWS_REGION to the bucket’s region'],
  RequestTimeTooSkewed: ['artifact_store_clock', 'this machine’s clock is wrong by more than 15 minutes'],
};

const BUSY = 'The file store is busy or unreachable right now. Please try again in a minute.';

/** A store failure that retrying the job may get past; `reason` is for the operator's logs. */
export const storeFault = (op: string, reason: string): ServiceError =>
  new ServiceError('artifact_store_error', BUSY, { context: { op, reason } });

/** User metadata name of a touch's time (x-amz-meta-fc-touched). */
const TOUCHED = 'fc-touched';

const TRANSIENT_CODES = new Set([
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'OperationAborted',
]);

export class S3Client {
  private readonly retries: number;
  private readonly retryBaseMs: number;
  private readonly timeoutMs: number;
  readonly pageSize: number;

  constructor(
    readonly s: S3Settings,
    o: S3ClientOptions = {},
  ) {
    this.retries = o.retries ?? 5;
    this.retryBaseMs = o.retryBaseMs ?? 250;
    this.timeoutMs = o.timeoutMs ?? 30_000;
    this.pageSize = o.pageSize ?? 1000;
  }

  /** Where the store lives, for messages and logs (no credentials). */
  describe(): string {
    return `s3://${this.s.bucket}/${this.s.prefix}${this.s.endpoint ? ` at ${this.s.endpoint}` : ''}`;
  }

  private url(key: string | undefined, query: Record<string, string> = {}): URL {
    const { bucket, region, endpoint, pathStyle } = this.s;
    const base = new URL(endpoint ?? `https://s3.${region}.amazonaws.com`);
    const path = key === undefined ? '' : encodeKeyPath(key);
    const u = pathStyle
      ? new URL(`${base.origin}/${bucket}${key === undefined ? '' : `/${path}`}`)
      : new URL(`${base.protocol}//${bucket}.${base.host}/${path}`);
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
    return u;
  }

  /** One signed request, retried while the failure is transient. */
  private async send(method: string, o: SendOptions): Promise<Response> {
    const url = this.url(o.key, o.query);
    const payloadHash = o.bodySha256 ?? (o.body ? sha256Hex(o.body) : EMPTY_SHA256);
    for (let attempt = 0; ; attempt++) {
      let failure: ServiceError;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), this.timeoutMs);
      try {
        const headers = signRequest(
          { method, url, headers: o.headers ?? {}, payloadHash },
          this.s,
          new Date(),
        );
        const res = await fetch(url, { method, headers, body: o.body, signal: controller.signal });
        clearTimeout(timer);
        if ((res.status >= 200 && res.status < 300) || o.pass?.includes(res.status)) return res;
        const text = method === 'HEAD' ? '' : await res.text().catch(() => '');
        const code = xmlText(text, 'Code') ?? (res.status === 404 ? 'NoSuchKey' : `HTTP${res.status}`);
        failure = this.failure(o.op, res.status, code, xmlText(text, 'Region'));
      } catch (e) {
        clearTimeout(timer);
        if (e instanceof ConfigError || (e instanceof ServiceError && !e.retryable)) throw e;
        if (e instanceof ServiceError) failure = e;
        else {
          const cause = (e as { cause?: { code?: string } }).cause?.code;
          const reason = controller.signal.aborted
            ? `no answer in ${this.timeoutMs} ms`
            : (cause ?? (e as Error).message);
          failure = new ServiceError('artifact_store_unreachable', BUSY, {
            cause: e,
            context: { op: o.op, store: this.describe(), reason },
          });
        }
      }
      if (!failure.retryable || attempt >= this.retries) throw failure;
      const wait = this.retryBaseMs * 2 ** attempt * (0.75 + Math.random() * 0.5);
      logger.warn(
        { op: o.op, attempt: attempt + 1, code: failure.code, reason: failure.context.reason },
        'artifact store request failed; retrying',
      );
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** The error for an S3 error answer: thrown at once unless it is transient (then retried). */
  private failure(op: string, status: number, code: string, region?: string): ServiceError {
    const config = CONFIG_CODES[code] ?? (status === 403 ? CONFIG_CODES.AccessDenied : undefined);
    if (config) {
      const [c, hint] = config;
      const where =
        code === 'PermanentRedirect' || region ? ` (the bucket is in ${region ?? 'another region'})` : '';
      throw new ConfigError(
        c,
        `The artifact store (${this.describe()}) refused ${op}: ${code}${where}; ${hint} (docs/storage.md).`,
      );
    }
    const transient = status >= 500 || status === 429 || TRANSIENT_CODES.has(code);
    return new ServiceError('artifact_store_error', BUSY, {
      retryable: transient,
      context: { op, store: this.describe(), reason: `${code} (HTTP ${status})` },
    });
  }

  /** A 200 answer whose body is an <Error> (S3 does this for copies and multipart completion). */
  private async okBody(res: Response, op: string): Promise<string> {
    const text = await res.text();
    if (xmlRoot(text) === 'Error') {
      const code = xmlText(text, 'Code') ?? 'InternalError';
      throw this.failure(op, TRANSIENT_CODES.has(code) ? 500 : 400, code);
    }
    return text;
  }

  /** A 404 means "no such key" unless the body says the bucket itself is missing. */
  private async missing(res: Response, op: string): Promise<void> {
    const code = xmlText(await res.text().catch(() => ''), 'Code');
    if (code === 'NoSuchBucket') throw this.failure(op, 404, code);
  }

  async putObject(key: string, body: Buffer, o: { contentType: string; sha256?: string }): Promise<void> {
    const res = await this.send('PUT', {
      op: 'PutObject',
      key,
      body,
      bodySha256: o.sha256,
      headers: { 'content-type': o.contentType },
    });
    await res.arrayBuffer();
  }

  /** The object's bytes as a web stream, or undefined when there is no such object. */
  async getObject(key: string): Promise<ReadableStream<Uint8Array> | undefined> {
    const res = await this.send('GET', { op: 'GetObject', key, pass: [404] });
    if (res.status === 404) {
      await this.missing(res, 'GetObject');
      return undefined;
    }
    return res.body ?? new ReadableStream({ start: (c) => c.close() });
  }

  /** Size, LastModified and our x-amz-meta-fc-touched (epoch ms, see copyObject's `touched`). */
  async headObject(
    key: string,
  ): Promise<{ size: number; lastModified: number; touchedAt?: number } | undefined> {
    const res = await this.send('HEAD', { op: 'HeadObject', key, pass: [404] });
    await res.arrayBuffer().catch(() => {});
    if (res.status === 404) return undefined;
    const touched = Number(res.headers.get(`x-amz-meta-${TOUCHED}`));
    return {
      size: Number(res.headers.get('content-length') ?? 0),
      lastModified: Date.parse(res.headers.get('last-modified') ?? '') || Date.now(),
      touchedAt: Number.isFinite(touched) && touched > 0 ? touched : undefined,
    };
  }

  /** Deleting a missing key is not an error in S3 (204 either way). */
  async deleteObject(key: string): Promise<void> {
    const res = await this.send('DELETE', { op: 'DeleteObject', key, pass: [404] });
    await res.arrayBuffer();
  }

  /** Up to 1000 keys in one request; throws if S3 reports any it could not delete. */
  async deleteObjects(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const body = Buffer.from(
      `<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>true</Quiet>${keys
        .map((k) => `<Object><Key>${xmlEncode(k)}</Key></Object>`)
        .join('')}</Delete>`,
    );
    const res = await this.send('POST', {
      op: 'DeleteObjects',
      query: { delete: '' },
      body,
      headers: {
        'content-type': 'application/xml',
        'content-md5': createHash('md5').update(body).digest('base64'),
      },
    });
    const text = await this.okBody(res, 'DeleteObjects');
    const errors = xmlBlocks(text, 'Error');
    if (errors.length)
      throw storeFault(
        'DeleteObjects',
        `${errors.length} of ${keys.length} objects not deleted (${xmlText(errors[0], 'Code') ?? 'unknown'})`,
      );
  }

  /**
   * Server-side copy of an object up to 5 GiB (S3's limit for one copy). New metadata is always
   * written (REPLACE), which is what lets an object be copied onto itself to renew its
   * LastModified. `touched` is also recorded as metadata: some S3-compatible servers keep the
   * old LastModified on a copy onto itself, and headObject reads it back.
   */
  async copyObject(from: string, to: string, o: { contentType: string; touched?: number }): Promise<boolean> {
    const headers: Record<string, string> = {
      'x-amz-copy-source': `/${this.s.bucket}/${encodeKeyPath(from)}`,
      'x-amz-metadata-directive': 'REPLACE',
      'content-type': o.contentType,
    };
    if (o.touched !== undefined) headers[`x-amz-meta-${TOUCHED}`] = String(o.touched);
    const res = await this.send('PUT', { op: 'CopyObject', key: to, pass: [404], headers });
    if (res.status === 404) {
      await this.missing(res, 'CopyObject');
      return false;
    }
    await this.okBody(res, 'CopyObject');
    return true;
  }

  /** One page of a listing; `delimiter` '/' folds deeper keys into prefixes. */
  async listObjects(o: {
    prefix: string;
    delimiter?: string;
    token?: string;
    maxKeys?: number;
  }): Promise<{ objects: S3Object[]; prefixes: string[]; next?: string }> {
    const query: Record<string, string> = {
      'list-type': '2',
      prefix: o.prefix,
      'max-keys': String(o.maxKeys ?? this.pageSize),
    };
    if (o.delimiter) query.delimiter = o.delimiter;
    if (o.token) query['continuation-token'] = o.token;
    const res = await this.send('GET', { op: 'ListObjectsV2', query });
    const text = await res.text();
    const objects = xmlBlocks(text, 'Contents').map((c) => ({
      key: xmlText(c, 'Key') ?? '',
      size: Number(xmlText(c, 'Size') ?? 0),
      lastModified: Date.parse(xmlText(c, 'LastModified') ?? '') || 0,
    }));
    const prefixes = xmlBlocks(text, 'CommonPrefixes').map((c) => xmlText(c, 'Prefix') ?? '');
    const truncated = xmlText(text, 'IsTruncated') === 'true';
    return { objects, prefixes, next: truncated ? xmlText(text, 'NextContinuationToken') : undefined };
  }

  async createMultipartUpload(key: string, contentType: string): Promise<string> {
    const res = await this.send('POST', {
      op: 'CreateMultipartUpload',
      key,
      query: { uploads: '' },
      headers: { 'content-type': contentType },
    });
    const id = xmlText(await this.okBody(res, 'CreateMultipartUpload'), 'UploadId');
    if (!id) throw storeFault('CreateMultipartUpload', 'no UploadId in the answer');
    return id;
  }

  async uploadPart(key: string, uploadId: string, part: number, body: Buffer): Promise<string> {
    const res = await this.send('PUT', {
      op: 'UploadPart',
      key,
      query: { partNumber: String(part), uploadId },
      body,
    });
    await res.arrayBuffer();
    const etag = res.headers.get('etag');
    if (!etag) throw storeFault('UploadPart', 'no ETag in the answer');
    return etag;
  }

  /** False when the upload is unknown (already completed by an earlier attempt whose answer was lost, or aborted). */
  async completeMultipartUpload(key: string, uploadId: string, etags: string[]): Promise<boolean> {
    const body = Buffer.from(
      `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload>${etags
        .map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${xmlEncode(e)}</ETag></Part>`)
        .join('')}</CompleteMultipartUpload>`,
    );
    const res = await this.send('POST', {
      op: 'CompleteMultipartUpload',
      key,
      query: { uploadId },
      body,
      headers: { 'content-type': 'application/xml' },
      pass: [404],
    });
    if (res.status === 404) {
      await res.arrayBuffer().catch(() => {});
      return false;
    }
    await this.okBody(res, 'CompleteMultipartUpload');
    return true;
  }

  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    const res = await this.send('DELETE', {
      op: 'AbortMultipartUpload',
      key,
      query: { uploadId },
      pass: [404],
    });
    await res.arrayBuffer();
  }

  /**
   * Unfinished multipart uploads under a prefix, every page. Undefined when the server does not
   * implement the listing (some S3 emulators); real S3, MinIO, R2 and Ceph do.
   */
  async listMultipartUploads(prefix: string): Promise<S3Upload[] | undefined> {
    const out: S3Upload[] = [];
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    for (;;) {
      const query: Record<string, string> = { uploads: '', prefix, 'max-uploads': String(this.pageSize) };
      if (keyMarker !== undefined) query['key-marker'] = keyMarker;
      if (idMarker !== undefined) query['upload-id-marker'] = idMarker;
      const res = await this.send('GET', { op: 'ListMultipartUploads', query, pass: [400, 405, 501] });
      const text = await res.text();
      if (res.status !== 200) {
        const code = xmlText(text, 'Code');
        if (res.status === 501 || code === 'NotImplemented' || code === 'MethodNotAllowed') return undefined;
        throw this.failure('ListMultipartUploads', res.status, code ?? `HTTP${res.status}`);
      }
      for (const u of xmlBlocks(text, 'Upload'))
        out.push({
          key: xmlText(u, 'Key') ?? '',
          uploadId: xmlText(u, 'UploadId') ?? '',
          initiated: Date.parse(xmlText(u, 'Initiated') ?? '') || 0,
        });
      if (xmlText(text, 'IsTruncated') !== 'true') return out;
      keyMarker = xmlText(text, 'NextKeyMarker');
      idMarker = xmlText(text, 'NextUploadIdMarker');
      if (!keyMarker) return out;
    }
  }
}
