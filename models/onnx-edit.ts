/**
 * Read, modify and write ONNX models through the maintained protobuf definition (onnx-proto), for
 * weight edits such as LoRA merges. Not a runtime: sessions are still created by models/onnx.ts.
 *
 * Exporters rarely keep PyTorch's parameter names for Linear layers: torch.onnx writes the weight
 * transposed ([in, out]) as an initializer called `onnx::MatMul_<n>` and keeps the module path only
 * in the consuming node's name (`/down_blocks.0/attentions.0/.../to_q/MatMul`). `weightTargets()`
 * therefore names each weight by its initializer when that is a parameter name and by the node's
 * scope otherwise, and records whether it is stored transposed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { ModelError } from '../base/errors.ts';
import { float32ToHalves, halvesToFloat32 } from './half.ts';

const { onnx } = onnxProto;
type TensorProto = onnxProto.onnx.ITensorProto;
export type ModelProto = onnxProto.onnx.ModelProto;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;
const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;

export type WeightDtype = 'float32' | 'float16';

/** A weight matrix a LoRA can adapt. */
export interface WeightTarget {
  /** Initializer name in the graph. */
  initializer: string;
  /** PyTorch module path, e.g. down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q */
  module: string;
  /** Same with dots replaced by underscores (kohya's spelling), for matching. */
  flat: string;
  /** true: stored [in, out] (MatMul, Gemm without transB); false: [out, in(, kh, kw)]. */
  transposed: boolean;
  dims: number[];
  dtype: WeightDtype;
  op: string;
  outFeatures: number;
  inFeatures: number;
}

function toNumber(d: number | { toNumber(): number }): number {
  return typeof d === 'number' ? d : d.toNumber();
}

/** Module path from a node scope name: "/a/b.0/c/MatMul" → "a.b.0.c". */
export function moduleFromNodeName(nodeName: string): string | undefined {
  if (!nodeName.startsWith('/')) return undefined;
  const parts = nodeName.slice(1).split('/');
  parts.pop(); // the op's own name (MatMul, Gemm, Conv, MatMul_1...)
  return parts.length ? parts.join('.') : undefined;
}

export class OnnxModel {
  private constructor(
    readonly proto: ModelProto,
    /** Folder of the model file, for external data; undefined for in-memory models. */
    readonly dir: string | undefined,
    readonly name: string,
  ) {}

  static fromBytes(bytes: Uint8Array, opts: { dir?: string; name?: string } = {}): OnnxModel {
    let proto: ModelProto;
    try {
      proto = onnx.ModelProto.decode(bytes);
    } catch (e) {
      throw new ModelError(
        'model_parse',
        `${opts.name ?? 'The model'} is not a valid ONNX file: ${(e as Error).message}`,
      );
    }
    if (!proto.graph) throw new ModelError('model_parse', `${opts.name ?? 'The model'} has no graph.`);
    return new OnnxModel(proto, opts.dir, opts.name ?? 'model');
  }

  static fromFile(file: string): OnnxModel {
    return OnnxModel.fromBytes(readFileSync(file), { dir: path.dirname(file), name: file });
  }

  /** Decoded graphs always carry their repeated fields (protobufjs fills empty arrays). */
  private get g(): onnxProto.onnx.GraphProto {
    return this.proto.graph as onnxProto.onnx.GraphProto;
  }

  private get initMap(): Map<string, TensorProto> {
    const m = new Map<string, TensorProto>();
    for (const t of this.g.initializer) if (t.name) m.set(t.name, t);
    return m;
  }

  initializer(name: string): TensorProto {
    const t = this.g.initializer.find((x) => x.name === name);
    if (!t) throw new ModelError('model_edit', `${this.name} has no initializer "${name}".`);
    return t;
  }

  /** Every float weight consumed as the weight input of a MatMul, Gemm or Conv node. */
  weightTargets(): WeightTarget[] {
    const inits = this.initMap;
    const out: WeightTarget[] = [];
    const seen = new Set<string>();
    for (const n of this.g.node) {
      const op = n.opType ?? '';
      if (op !== 'MatMul' && op !== 'Gemm' && op !== 'Conv') continue;
      const wName = n.input?.[1];
      if (!wName || seen.has(wName)) continue;
      const t = inits.get(wName);
      if (!t || (t.dataType !== FLOAT && t.dataType !== FLOAT16)) continue;
      const dims = (t.dims ?? []).map(toNumber);
      if (op === 'Conv' ? dims.length !== 4 : dims.length !== 2) continue;
      const module =
        !wName.startsWith('onnx::') && wName.endsWith('.weight')
          ? wName.slice(0, -'.weight'.length)
          : moduleFromNodeName(n.name ?? '');
      if (!module) continue;
      let transposed = op === 'MatMul';
      if (op === 'Gemm') {
        const tb = n.attribute?.find((a) => a.name === 'transB');
        transposed = !(tb && toNumber(tb.i ?? 0) === 1);
      }
      const [a, b] = dims as [number, number];
      seen.add(wName);
      out.push({
        initializer: wName,
        module,
        flat: module.replace(/\./g, '_'),
        transposed,
        dims,
        dtype: t.dataType === FLOAT16 ? 'float16' : 'float32',
        op,
        outFeatures: op === 'Conv' ? a : transposed ? b : a,
        inFeatures: op === 'Conv' ? dims.slice(1).reduce((x, y) => x * y, 1) : transposed ? a : b,
      });
    }
    return out;
  }

  /** The raw little-endian bytes of an initializer (embedded or external). */
  rawBytes(name: string): Uint8Array {
    const t = this.initializer(name);
    if (t.dataLocation === EXTERNAL) {
      const info = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
      if (!this.dir || !info.location)
        throw new ModelError(
          'model_edit',
          `${this.name}: initializer "${name}" uses external data that cannot be found.`,
        );
      const file = path.join(this.dir, info.location);
      if (!existsSync(file))
        throw new ModelError('model_edit', `${this.name}: external data file ${file} is missing.`);
      const offset = Number(info.offset ?? 0);
      const data = readExternal(file);
      const length = info.length !== undefined ? Number(info.length) : data.byteLength - offset;
      return data.subarray(offset, offset + length);
    }
    if (t.rawData?.length) return t.rawData;
    if (t.dataType === FLOAT && t.floatData?.length)
      return new Uint8Array(new Float32Array(t.floatData).buffer);
    if (t.dataType === FLOAT16 && t.int32Data?.length) {
      // ONNX stores float16 in int32_data (one half per element) when raw_data is not used.
      const u = new Uint16Array(t.int32Data.length);
      t.int32Data.forEach((v, i) => {
        u[i] = v;
      });
      return new Uint8Array(u.buffer);
    }
    return new Uint8Array(0);
  }

  /** An initializer's values as float32 (a copy). */
  readFloat32(name: string): Float32Array {
    const t = this.initializer(name);
    const raw = this.rawBytes(name);
    if (t.dataType === FLOAT16) return halvesToFloat32(raw);
    if (t.dataType !== FLOAT)
      throw new ModelError('model_edit', `${this.name}: "${name}" is not a float tensor.`);
    const out = new Float32Array(raw.byteLength / 4);
    new Uint8Array(out.buffer).set(raw);
    return out;
  }

  /** Replace an initializer's values, kept in its dtype, stored embedded. */
  writeFloat32(name: string, values: Float32Array): void {
    const t = this.initializer(name);
    const count = (t.dims ?? []).map(toNumber).reduce((a, b) => a * b, 1);
    if (values.length !== count)
      throw new ModelError(
        'model_edit',
        `${this.name}: "${name}" needs ${count} values, got ${values.length}.`,
      );
    const bytes =
      t.dataType === FLOAT16
        ? float32ToHalves(values)
        : new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
    this.setRaw(t, bytes);
  }

  /** Replace an initializer's raw bytes (same dtype and size). */
  writeRaw(name: string, bytes: Uint8Array): void {
    this.setRaw(this.initializer(name), bytes);
  }

  private setRaw(t: TensorProto, bytes: Uint8Array): void {
    t.rawData = bytes;
    t.floatData = [];
    t.int32Data = [];
    t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
    t.externalData = [];
  }

  /**
   * Turn initializers into graph inputs of the same name, dtype and shape, so their values can be
   * swapped per run without rebuilding the session (apply/revert a LoRA in place). Returns the
   * removed tensors' raw bytes keyed by name.
   */
  liftToInputs(names: string[]): Map<string, { dtype: WeightDtype; dims: number[]; raw: Uint8Array }> {
    const g = this.g;
    const out = new Map<string, { dtype: WeightDtype; dims: number[]; raw: Uint8Array }>();
    const wanted = new Set(names);
    for (const t of g.initializer) {
      if (!t.name || !wanted.has(t.name)) continue;
      const dims = (t.dims ?? []).map(toNumber);
      const dtype: WeightDtype = t.dataType === FLOAT16 ? 'float16' : 'float32';
      out.set(t.name, { dtype, dims, raw: copyBytes(this.rawBytes(t.name)) });
      g.input.push(
        onnx.ValueInfoProto.create({
          name: t.name,
          type: { tensorType: { elemType: t.dataType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
        }),
      );
    }
    for (const n of names)
      if (!out.has(n)) throw new ModelError('model_edit', `${this.name} has no initializer "${n}" to lift.`);
    g.initializer = g.initializer.filter((t) => !t.name || !wanted.has(t.name));
    return out;
  }

  /** Serialize with every initializer embedded (models under protobuf's 2 GB limit). */
  toBytes(): Uint8Array {
    const g = this.g;
    for (const t of g.initializer)
      if (t.dataLocation === EXTERNAL && t.name) this.setRaw(t, copyBytes(this.rawBytes(t.name)));
    return onnx.ModelProto.encode(this.proto).finish();
  }

  /**
   * Write the model into a folder: `model.onnx`, plus `weights.pb` holding every initializer of at
   * least `externalMinBytes` when given (how exporters store models above 2 GB).
   */
  async save(dir: string, externalMinBytes?: number): Promise<string> {
    await mkdir(dir, { recursive: true });
    const g = this.g;
    const file = path.join(dir, 'model.onnx');
    if (externalMinBytes === undefined) {
      await writeFile(file, this.toBytes());
      return file;
    }
    const chunks: Uint8Array[] = [];
    let offset = 0;
    const saved = g.initializer;
    g.initializer = saved.map((t) => {
      const raw = t.name ? this.rawBytes(t.name) : new Uint8Array(0);
      if (raw.length < externalMinBytes || raw.length === 0) {
        // Small tensors are embedded, including ones that were external in the source model.
        if (t.dataLocation !== EXTERNAL) return t;
        return onnx.TensorProto.create({
          ...t,
          rawData: copyBytes(raw),
          dataLocation: onnx.TensorProto.DataLocation.DEFAULT,
          externalData: [],
        });
      }
      const pad = (4096 - (offset % 4096)) % 4096;
      if (pad) chunks.push(new Uint8Array(pad));
      offset += pad;
      chunks.push(raw);
      const copy = onnx.TensorProto.create({
        ...t,
        rawData: new Uint8Array(0),
        dataLocation: EXTERNAL,
        externalData: [
          { key: 'location', value: 'weights.pb' },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(raw.length) },
        ],
      });
      offset += raw.length;
      return copy;
    });
    try {
      await writeFile(path.join(dir, 'weights.pb'), chunks);
      await writeFile(file, onnx.ModelProto.encode(this.proto).finish());
    } finally {
      g.initializer = saved;
    }
    return file;
  }
}

/** A copy with its own ArrayBuffer (protobufjs hands out Buffer views whose .slice() does not copy). */
export function copyBytes(b: Uint8Array): Uint8Array {
  const c = new Uint8Array(b.byteLength);
  c.set(b);
  return c;
}

// One external data file is usually shared by every initializer: read it once per model file.
const externalCache = new Map<string, Uint8Array>();
function readExternal(file: string): Uint8Array {
  let d = externalCache.get(file);
  if (!d) {
    d = readFileSync(file);
    externalCache.clear(); // keep at most one multi-GB file alive
    externalCache.set(file, d);
  }
  return d;
}

/**
 * A two-node ONNX graph computing `w + scale · (up · down)` (or its transpose for [in, out]
 * weights), so LoRA deltas are multiplied by ONNX Runtime's GEMM instead of JavaScript loops.
 */
export function lowRankAddModel(transposed: boolean): Uint8Array {
  const vi = (name: string, dims: (number | string)[]) => ({
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
  const nodes: onnxProto.onnx.INodeProto[] = transposed
    ? [
        { opType: 'Transpose', input: ['down'], output: ['downT'], name: 'downT' },
        { opType: 'Transpose', input: ['up'], output: ['upT'], name: 'upT' },
        { opType: 'MatMul', input: ['downT', 'upT'], output: ['prod'], name: 'prod' },
      ]
    : [{ opType: 'MatMul', input: ['up', 'down'], output: ['prod'], name: 'prod' }];
  nodes.push({ opType: 'Mul', input: ['prod', 'scale'], output: ['delta'], name: 'delta' });
  nodes.push({ opType: 'Add', input: ['w', 'delta'], output: ['out'], name: 'out' });
  const [a, b] = transposed ? ['in', 'out'] : ['out', 'in'];
  const m = {
    irVersion: 8,
    producerName: 'facechain-bot',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: transposed ? 'lowrank-add-in-out' : 'lowrank-add-out-in',
      node: nodes,
      input: [vi('w', [a, b]), vi('up', ['out', 'rank']), vi('down', ['rank', 'in']), vi('scale', [1])],
      output: [vi('out', [a, b])],
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(m)).finish();
}
