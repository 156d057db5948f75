/**
 * A strict reader (and a small writer) for the .safetensors format: 8-byte little-endian header
 * length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__?}, then the tensor bytes.
 * Every offset is checked against the file before anything is read, so a malformed or hostile
 * file is refused with the reason instead of crashing or reading outside the buffer.
 */
import { open, stat } from 'node:fs/promises';
import { InputError } from '../../base/errors.ts';
import { bf16ToFloat, float32ToHalves, halvesToFloat32 } from '../../models/half.ts';

export const DTYPE_BYTES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
} as const;
export type SafetensorsDtype = keyof typeof DTYPE_BYTES;

/** The official reader refuses headers over 100 MB; LoRA headers are a few hundred KB. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range inside the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: Map<string, TensorEntry>;
  /** The tensor's values as float32 (F32/F16/BF16/F64 only). */
  float32(name: string): Float32Array;
}

function bad(where: string, reason: string): InputError {
  return new InputError(
    'bad_safetensors',
    `${where} is not a valid .safetensors file: ${reason}. Re-export it with the safetensors library (save_file).`,
    { context: { where } },
  );
}

/** Check the 8-byte length prefix against the file size; returns the header length. */
function headerLength(prefix: Uint8Array, fileSize: number, where: string): number {
  if (fileSize < 8) throw bad(where, `it has ${fileSize} bytes, fewer than the 8-byte header length`);
  const headerLen = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (headerLen > BigInt(MAX_HEADER_BYTES))
    throw bad(where, `its header claims ${headerLen} bytes (limit ${MAX_HEADER_BYTES})`);
  const n = Number(headerLen);
  if (8 + n > fileSize)
    throw bad(where, `its header claims ${n} bytes but the file has only ${fileSize - 8} after the length`);
  return n;
}

/** Validate a JSON header against the size of the data section that follows it. */
function parseHeader(
  headerBytes: Uint8Array,
  dataLen: number,
  where: string,
): { metadata: Record<string, string>; tensors: Map<string, TensorEntry> } {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (e) {
    throw bad(where, `its header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw bad(where, 'its header is not a JSON object');
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorEntry>();
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
        throw bad(where, '__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') throw bad(where, `metadata "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== 'object') throw bad(where, `entry "${name}" is not an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES))
      throw bad(
        where,
        `tensor "${name}" has dtype ${JSON.stringify(e.dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`,
      );
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw bad(where, `tensor "${name}" has an invalid shape ${JSON.stringify(e.shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw bad(where, `tensor "${name}" has invalid data_offsets ${JSON.stringify(off)}`);
    const [begin, end] = off as [number, number];
    const dtype = e.dtype as SafetensorsDtype;
    const shape = e.shape as number[];
    const count = shape.reduce((a, b) => a * b, 1);
    if (end < begin || end > dataLen)
      throw bad(
        where,
        `tensor "${name}" lies at bytes ${begin}-${end}, outside the ${dataLen}-byte data section`,
      );
    if (end - begin !== count * DTYPE_BYTES[dtype])
      throw bad(
        where,
        `tensor "${name}" is ${dtype} [${shape.join(', ')}] (${count * DTYPE_BYTES[dtype]} bytes) but spans ${end - begin} bytes`,
      );
    tensors.set(name, { name, dtype, shape, begin, end });
  }
  // The format requires the tensors to tile the data section exactly: no overlaps, no holes.
  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const t of sorted) {
    if (t.begin !== at)
      throw bad(
        where,
        t.begin < at
          ? `tensor "${t.name}" overlaps another tensor`
          : `there is a gap before tensor "${t.name}"`,
      );
    at = t.end;
  }
  if (at !== dataLen) throw bad(where, `${dataLen - at} trailing bytes follow the last tensor`);

  return { metadata, tensors };
}

/** Parse and validate a whole .safetensors buffer. `where` names the file in error messages. */
export function parseSafetensors(buf: Uint8Array, where = 'The file'): SafetensorsFile {
  const n = headerLength(buf, buf.byteLength, where);
  const dataStart = 8 + n;
  const { metadata, tensors } = parseHeader(buf.subarray(8, dataStart), buf.byteLength - dataStart, where);
  return {
    metadata,
    tensors,
    float32(name: string): Float32Array {
      const t = tensors.get(name);
      if (!t) throw bad(where, `it has no tensor "${name}"`);
      const bytes = buf.subarray(dataStart + t.begin, dataStart + t.end);
      const count = (t.end - t.begin) / DTYPE_BYTES[t.dtype];
      const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      switch (t.dtype) {
        case 'F32': {
          const out = new Float32Array(count);
          for (let i = 0; i < count; i++) out[i] = v.getFloat32(i * 4, true);
          return out;
        }
        case 'F16':
          return halvesToFloat32(bytes);
        case 'BF16': {
          const out = new Float32Array(count);
          for (let i = 0; i < count; i++) out[i] = bf16ToFloat(v.getUint16(i * 2, true));
          return out;
        }
        case 'F64': {
          const out = new Float32Array(count);
          for (let i = 0; i < count; i++) out[i] = v.getFloat64(i * 8, true);
          return out;
        }
        default:
          throw bad(where, `tensor "${name}" is ${t.dtype}, not a floating-point tensor`);
      }
    },
  };
}

/** Read and validate a .safetensors file, refusing files above `maxBytes` before reading them. */
export async function readSafetensors(file: string, maxBytes: number): Promise<SafetensorsFile> {
  const s = await stat(file).catch(() => undefined);
  if (!s?.isFile()) throw new InputError('lora_missing', `LoRA file ${file} does not exist.`);
  if (s.size > maxBytes)
    throw new InputError(
      'lora_too_large',
      `LoRA file ${file} is ${s.size} bytes; the limit is ${maxBytes} (FACECHAIN_MAX_LORA_BYTES).`,
      { context: { size: s.size, maxBytes } },
    );
  const fh = await open(file, 'r');
  try {
    const buf = new Uint8Array(s.size);
    let got = 0;
    while (got < s.size) {
      const { bytesRead } = await fh.read(buf, got, s.size - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return parseSafetensors(buf.subarray(0, got), file);
  } finally {
    await fh.close();
  }
}

/**
 * Validate a file's header against its size without reading the tensor data (for start-up checks
 * of many packs). Returns the metadata and tensor table.
 */
export async function readSafetensorsHeader(
  file: string,
  maxBytes: number,
): Promise<{ metadata: Record<string, string>; tensors: Map<string, TensorEntry> }> {
  const s = await stat(file).catch(() => undefined);
  if (!s?.isFile()) throw new InputError('lora_missing', `LoRA file ${file} does not exist.`);
  if (s.size > maxBytes)
    throw new InputError(
      'lora_too_large',
      `LoRA file ${file} is ${s.size} bytes; the limit is ${maxBytes}.`,
      {
        context: { size: s.size, maxBytes },
      },
    );
  const fh = await open(file, 'r');
  try {
    const prefix = new Uint8Array(8);
    await fh.read(prefix, 0, 8, 0);
    const n = headerLength(prefix, s.size, file);
    const header = new Uint8Array(n);
    await fh.read(header, 0, n, 8);
    return parseHeader(header, s.size - 8 - n, file);
  } finally {
    await fh.close();
  }
}

export interface TensorToWrite {
  dtype: 'F32' | 'F16';
  shape: number[];
  data: Float32Array;
}

/** Write tensors as .safetensors bytes (float32 or float16), tensors in name order. */
export function encodeSafetensors(
  tensors: Record<string, TensorToWrite>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`tensor ${name}: ${t.data.length} values for [${t.shape}]`);
    let bytes: Uint8Array;
    if (t.dtype === 'F32') {
      bytes = new Uint8Array(count * 4);
      const dv = new DataView(bytes.buffer);
      for (let i = 0; i < count; i++) dv.setFloat32(i * 4, t.data[i]!, true);
    } else {
      bytes = float32ToHalves(t.data);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + bytes.length] };
    chunks.push(bytes);
    at += bytes.length;
  }
  let json = JSON.stringify(header);
  // Pad the header to 8 bytes with spaces, as the reference writer does (keeps data aligned).
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let o = 8 + headerBytes.length;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
