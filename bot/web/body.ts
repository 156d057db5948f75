/**
 * Request bodies of the web API, read without holding uploads in memory. A JSON body is read up
 * to a small cap. A multipart form is parsed while it streams (busboy, imported only here): each
 * file goes to its own file in a fresh folder per request, and the whole request is size-capped
 * as it arrives, so an oversized upload is refused after at most the cap, not after all of it.
 * The caller removes the folder with `dispose()` once the command has run (also on errors).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { InputError } from '../../base/errors.ts';

/** Why a body was refused: the HTTP status, and a code the server turns into a message. */
export class BodyError extends InputError {
  constructor(
    readonly status: 400 | 413,
    code: 'too_large' | 'too_many_files' | 'bad_json' | 'bad_form' | 'aborted',
    message: string,
    context: Record<string, unknown> = {},
  ) {
    super(code, message, { context });
  }
}

/** One uploaded file, on disk until `dispose()`. */
export interface UploadedFile {
  /** The name the browser gave (no folders); "upload" when it gave none. */
  name: string;
  /** Declared type, unless the browser declared none (then the name's extension decides). */
  mime?: string;
  size: number;
  read(): Promise<Uint8Array>;
}

export interface RequestBody {
  fields: Record<string, unknown>;
  files: UploadedFile[];
  /** Remove the request's upload folder; safe to call more than once. */
  dispose(): Promise<void>;
}

export interface BodyLimits {
  /** Largest request, all files and fields together (bytes). */
  maxBytes: number;
  /** Largest JSON body (bytes). */
  maxJsonBytes: number;
  /** Most files in one request. */
  maxFiles: number;
  /** Folder under which each request's upload folder is made. */
  uploadDir: string;
}

const NOTHING: RequestBody = { fields: {}, files: [], dispose: async () => {} };
const MAX_FIELD_BYTES = 1024 * 1024;

export async function readRequestBody(req: http.IncomingMessage, limits: BodyLimits): Promise<RequestBody> {
  const type = req.headers['content-type'] ?? '';
  const multipart = /^multipart\/form-data\b/i.test(type);
  const cap = multipart ? limits.maxBytes : limits.maxJsonBytes;
  // An honest client that says its size is refused before a byte is read.
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > cap) throw tooLarge(cap);
  if (!multipart) return { ...NOTHING, fields: parseObject((await readCapped(req, cap)).toString('utf8')) };
  return readMultipart(req, limits);
}

function tooLarge(limit: number): BodyError {
  return new BodyError(413, 'too_large', `The request is larger than ${mbText(limit)} MB.`, {
    limit: mbText(limit),
  });
}

function mbText(bytes: number): string {
  return String(Math.round((bytes / (1024 * 1024)) * 10) / 10);
}

function badJson(what: string): BodyError {
  return new BodyError(400, 'bad_json', `${what} is not a JSON object.`);
}

/** A JSON object, or a 400 naming what was wrong; an empty body is an empty object. */
function parseObject(text: string, what = 'The request body'): Record<string, unknown> {
  if (!text.trim()) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw badJson(what);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badJson(what);
  return v as Record<string, unknown>;
}

async function readCapped(req: http.IncomingMessage, cap: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > cap) throw tooLarge(cap);
      chunks.push(c as Buffer);
    }
  } catch (e) {
    if (e instanceof BodyError) throw e;
    throw new BodyError(400, 'aborted', 'The request ended early.');
  }
  return Buffer.concat(chunks);
}

function readMultipart(req: http.IncomingMessage, limits: BodyLimits): Promise<RequestBody> {
  let folder: Promise<string> | undefined;
  const makeFolder = () =>
    (folder ??= mkdir(limits.uploadDir, { recursive: true, mode: 0o700 }).then(() =>
      mkdtemp(path.join(limits.uploadDir, 'upload-')),
    ));
  const dispose = async () => {
    const dir = await folder?.catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  };
  const fields: Record<string, unknown> = {};
  const files: UploadedFile[] = [];
  const writes: Promise<void>[] = [];
  const open = new Set<NodeJS.ReadableStream & { destroy(): void }>();

  return new Promise<RequestBody>((resolve, reject) => {
    let done = false;
    const fail = (e: unknown) => {
      if (done) return;
      done = true;
      req.unpipe();
      // Keep reading (and dropping) what the client still sends, so it gets the answer rather
      // than a reset connection; the server closes the connection after answering.
      req.resume();
      for (const s of open) s.destroy();
      const err =
        e instanceof BodyError
          ? e
          : new BodyError(400, 'bad_form', 'The upload is not a valid multipart form.');
      // Every file write has settled before the folder goes, so none is re-created after.
      void Promise.allSettled(writes)
        .then(dispose)
        .then(() => reject(err), reject);
    };

    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        defParamCharset: 'utf8',
        limits: {
          fileSize: limits.maxBytes,
          files: limits.maxFiles,
          fields: 50,
          fieldSize: MAX_FIELD_BYTES,
        },
      });
    } catch {
      reject(new BodyError(400, 'bad_form', 'The upload is not a valid multipart form (no boundary).'));
      return;
    }
    let received = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        if (received > limits.maxBytes) cb(tooLarge(limits.maxBytes));
        else cb(null, chunk);
      },
    });
    counter.on('error', fail);
    req.on('error', () => fail(new BodyError(400, 'aborted', 'The upload ended early.')));
    req.on('close', () => {
      if (!req.complete) fail(new BodyError(400, 'aborted', 'The upload ended early.'));
    });

    bb.on('field', (name, value, info) => {
      if (info.nameTruncated || info.valueTruncated) return fail(tooLarge(MAX_FIELD_BYTES));
      fields[name] = value;
    });
    bb.on('file', (_field, stream, info) => {
      if (done) return void stream.resume();
      // Files are numbered: the browser's name never reaches the disk.
      const file = { name: info.filename || 'upload', where: '', size: 0 };
      files.push({
        name: file.name,
        // busboy reports text/plain when a part declares no type: leave the decision to the name.
        mime: ['text/plain', 'application/octet-stream'].includes(info.mimeType) ? undefined : info.mimeType,
        get size() {
          return file.size;
        },
        read: () => readFile(file.where),
      });
      const index = files.length - 1;
      const write = (async () => {
        const dir = await makeFolder();
        if (done) return void stream.resume();
        file.where = path.join(dir, String(index));
        const out = createWriteStream(file.where, { flags: 'wx', mode: 0o600 });
        open.add(stream); // from here on, a refusal ends this write by destroying its stream
        try {
          await pipeline(stream, out);
        } finally {
          open.delete(stream);
        }
        file.size = out.bytesWritten;
        if ((stream as unknown as { truncated?: boolean }).truncated) throw tooLarge(limits.maxBytes);
      })();
      writes.push(write);
      write.catch(fail);
    });
    bb.on('filesLimit', () =>
      fail(
        new BodyError(413, 'too_many_files', `At most ${limits.maxFiles} files per request.`, {
          max: limits.maxFiles,
        }),
      ),
    );
    bb.on('fieldsLimit', () => fail(new BodyError(400, 'bad_form', 'Too many form fields.')));
    bb.on('error', fail);
    bb.on('close', () => {
      void Promise.all(writes).then(() => {
        if (done) return;
        try {
          if (typeof fields.options === 'string')
            fields.options = parseObject(fields.options, 'The "options" field');
        } catch (e) {
          return fail(e);
        }
        done = true;
        resolve({ fields, files, dispose });
      }, fail);
    });
    req.pipe(counter).pipe(bb);
  });
}
