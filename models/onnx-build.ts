/**
 * Small helpers to build ONNX graphs in TypeScript (with onnx-proto): fixture models are made by
 * the project's own code (deterministic, tiny, generated at test time, with exactly the input and
 * output names, dtypes and dynamic axes of the real exports they stand in for; models/fixtures/),
 * and the TensorFlow.js converter (models/tfjs-convert.ts) writes the body models' graphs with it.
 *
 * Two levels:
 * - plain functions (`initializer`, `node`, `valueInfo`, `graph`, `model`, `serialize`) that map
 *   one-to-one onto the ONNX protobuf messages;
 * - `GraphBuilder`, which names intermediate values for you:
 *     const g = new GraphBuilder('double');
 *     const x = g.input('x', 'float32', ['batch', 4]);
 *     g.output(g.op('Mul', [x, g.constF32([2])]), 'y', 'float32', ['batch', 4]);
 *     const bytes = g.toBytes();   // feed to OnnxSession.create(bytes) or write to a file
 *
 * Attributes: integers become INT, non-integers FLOAT; wrap with `float(1)` to force a float,
 * arrays of numbers become INTS (or FLOATS via `floats([...])`), strings STRING, tensors TENSOR.
 * Tensor data is stored little-endian in raw_data (what ONNX Runtime reads fastest).
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type ITensorProto = onnxProto.onnx.ITensorProto;
type INodeProto = onnxProto.onnx.INodeProto;
type IValueInfoProto = onnxProto.onnx.IValueInfoProto;
type IGraphProto = onnxProto.onnx.IGraphProto;
type IModelProto = onnxProto.onnx.IModelProto;
type IAttributeProto = onnxProto.onnx.IAttributeProto;

export type DType = 'float32' | 'float16' | 'int64' | 'int32' | 'uint8' | 'int8' | 'bool' | 'float64';
/** A dimension: a number is fixed, a string names a dynamic axis (as exporters do: "batch", "height"). */
export type Dim = number | string;

const DTYPE_CODE: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  uint8: onnx.TensorProto.DataType.UINT8,
  int8: onnx.TensorProto.DataType.INT8,
  bool: onnx.TensorProto.DataType.BOOL,
  float64: onnx.TensorProto.DataType.DOUBLE,
};

/** ONNX's numeric code for a dtype (for attributes like Cast's `to`). */
export function dtypeCode(t: DType): number {
  return DTYPE_CODE[t];
}

/** IEEE half precision bits ⇄ numbers, for float16 initializers (one implementation: models/half.ts). */
import { halfToFloat, toHalf } from './half.ts';

export const toFloat16Bits = toHalf;
export const fromFloat16Bits = halfToFloat;

type NumericData = ArrayLike<number> | BigInt64Array | readonly bigint[];

/** Encode values as little-endian raw bytes of the given dtype. */
export function rawBytes(dtype: DType, values: NumericData): Uint8Array {
  const n = values.length;
  const size =
    dtype === 'float64' || dtype === 'int64'
      ? 8
      : dtype === 'float32' || dtype === 'int32'
        ? 4
        : dtype === 'float16'
          ? 2
          : 1;
  const buf = new ArrayBuffer(n * size);
  const v = new DataView(buf);
  for (let i = 0; i < n; i++) {
    const x = values[i] as number | bigint;
    switch (dtype) {
      case 'float32':
        v.setFloat32(i * 4, Number(x), true);
        break;
      case 'float64':
        v.setFloat64(i * 8, Number(x), true);
        break;
      case 'float16':
        v.setUint16(i * 2, toFloat16Bits(Number(x)), true);
        break;
      case 'int64':
        v.setBigInt64(i * 8, typeof x === 'bigint' ? x : BigInt(Math.trunc(x)), true);
        break;
      case 'int32':
        v.setInt32(i * 4, Number(x), true);
        break;
      case 'uint8':
        v.setUint8(i, Number(x));
        break;
      case 'int8':
        v.setInt8(i, Number(x));
        break;
      case 'bool':
        v.setUint8(i, x ? 1 : 0);
        break;
    }
  }
  return new Uint8Array(buf);
}

/** A constant tensor (initializer or Constant value). `values.length` must match the dims. */
export function initializer(
  name: string,
  dtype: DType,
  dims: readonly number[],
  values: NumericData,
): ITensorProto {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== values.length)
    throw new Error(`initializer ${name}: ${values.length} values for dims [${dims.join(', ')}]`);
  return { name, dataType: DTYPE_CODE[dtype], dims: [...dims], rawData: rawBytes(dtype, values) };
}

/** Marks a number as a FLOAT attribute even when it is a whole number. */
export interface FloatAttr {
  float: number;
}
export interface FloatsAttr {
  floats: number[];
}
export interface TensorAttr {
  tensor: ITensorProto;
}
export const float = (x: number): FloatAttr => ({ float: x });
export const floats = (x: number[]): FloatsAttr => ({ floats: x });
export type AttrValue = number | number[] | string | FloatAttr | FloatsAttr | TensorAttr;

function attribute(name: string, value: AttrValue): IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number')
    return Number.isInteger(value) ? { name, type: T.INT, i: value } : { name, type: T.FLOAT, f: value };
  if (Array.isArray(value)) {
    if (value.every(Number.isInteger)) return { name, type: T.INTS, ints: value };
    return { name, type: T.FLOATS, floats: value };
  }
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  if ('floats' in value) return { name, type: T.FLOATS, floats: value.floats };
  return { name, type: T.TENSOR, t: value.tensor };
}

/** One operator node. Empty strings in `inputs` skip optional inputs, as ONNX specifies. */
export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attrs: Record<string, AttrValue> = {},
  name?: string,
  domain?: string,
): INodeProto {
  return {
    opType,
    input: inputs,
    output: outputs,
    name: name ?? `${opType}_${outputs[0]}`,
    attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    ...(domain ? { domain } : {}),
  };
}

/** A graph input/output declaration; string dims become named dynamic axes. */
export function valueInfo(name: string, dtype: DType, shape: readonly Dim[]): IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DTYPE_CODE[dtype],
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export function graph(parts: {
  name: string;
  nodes: INodeProto[];
  inputs: IValueInfoProto[];
  outputs: IValueInfoProto[];
  initializers?: ITensorProto[];
}): IGraphProto {
  return {
    name: parts.name,
    node: parts.nodes,
    input: parts.inputs,
    output: parts.outputs,
    initializer: parts.initializers ?? [],
  };
}

/** Default opset 17: supported by every onnxruntime-node 1.x from 1.14 on and by exporters' SD graphs. */
export function model(
  g: IGraphProto,
  opts: { opset?: number; producer?: string; doc?: string } = {},
): IModelProto {
  return {
    irVersion: 8,
    producerName: opts.producer ?? 'facechain-bot fixtures',
    producerVersion: '1',
    docString: opts.doc ?? '',
    opsetImport: [{ domain: '', version: opts.opset ?? 17 }],
    graph: g,
  };
}

export function serialize(m: IModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(m)).finish();
}

/** Parse model bytes (for tests that inspect what was built). */
export function parse(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}

/**
 * Move initializers of at least `minBytes` into one external data file, as exporters do for
 * models over protobuf's 2 GB limit (diffusers' UNet: `unet/model.onnx` + `weights.pb`). Returns
 * the model bytes and the data bytes; write both into the same folder and load the model by path.
 */
export function externalize(
  m: IModelProto,
  dataFileName: string,
  minBytes = 0,
): { model: Uint8Array; data: Uint8Array } {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const inits = (m.graph?.initializer ?? []).map((t) => {
    const raw = t.rawData;
    if (!raw || raw.length < minBytes || raw.length === 0) return t;
    // ONNX Runtime maps external data; keep offsets aligned like onnx's save does (4 KiB pages).
    const pad = (4096 - (offset % 4096)) % 4096;
    if (pad) {
      chunks.push(new Uint8Array(pad));
      offset += pad;
    }
    chunks.push(raw);
    const ext: ITensorProto = {
      ...t,
      rawData: null,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: dataFileName },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(raw.length) },
      ],
    };
    offset += raw.length;
    return ext;
  });
  const data = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  const copy: IModelProto = { ...m, graph: { ...m.graph, initializer: inits } };
  return { model: serialize(copy), data };
}

/**
 * Builds a graph step by step, naming intermediate values (`v0`, `v1`, ...) so graph code reads
 * like the formula it computes.
 */
export class GraphBuilder {
  private readonly nodes: INodeProto[] = [];
  private readonly inputs: IValueInfoProto[] = [];
  private readonly outputs: IValueInfoProto[] = [];
  private readonly inits: ITensorProto[] = [];
  private counter = 0;

  constructor(readonly name: string) {}

  /** A fresh value name with an optional readable hint. */
  fresh(hint = 'v'): string {
    return `${hint}_${this.counter++}`;
  }

  input(name: string, dtype: DType, shape: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, dtype, shape));
    return name;
  }

  /** Declare `value` as a graph output called `name` (adds an Identity when the names differ). */
  output(value: string, name: string, dtype: DType, shape: readonly Dim[]): string {
    if (value !== name) this.nodes.push(node('Identity', [value], [name]));
    this.outputs.push(valueInfo(name, dtype, shape));
    return name;
  }

  /** Add an initializer and return its name. */
  init(dtype: DType, dims: readonly number[], values: NumericData, hint = 'c'): string {
    const n = this.fresh(hint);
    this.inits.push(initializer(n, dtype, dims, values));
    return n;
  }

  constF32(values: ArrayLike<number>, dims: readonly number[] = [values.length]): string {
    return this.init('float32', dims, values);
  }

  constI64(values: ArrayLike<number> | readonly bigint[], dims: readonly number[] = [values.length]): string {
    return this.init('int64', dims, values);
  }

  /** Add a node with one output; returns the output's name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outName?: string): string {
    const out = outName ?? this.fresh(opType.toLowerCase());
    this.nodes.push(node(opType, inputs, [out], attrs));
    return out;
  }

  /** Add a node with several outputs; returns their names. */
  opN(
    opType: string,
    inputs: string[],
    outputs: number | string[],
    attrs: Record<string, AttrValue> = {},
  ): string[] {
    const outs =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()))
        : outputs;
    this.nodes.push(node(opType, inputs, outs, attrs));
    return outs;
  }

  toGraph(): IGraphProto {
    return graph({
      name: this.name,
      nodes: this.nodes,
      inputs: this.inputs,
      outputs: this.outputs,
      initializers: this.inits,
    });
  }

  toModel(opts?: { opset?: number; producer?: string; doc?: string }): IModelProto {
    return model(this.toGraph(), opts);
  }

  toBytes(opts?: { opset?: number; producer?: string; doc?: string }): Uint8Array {
    return serialize(this.toModel(opts));
  }
}
