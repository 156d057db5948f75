/**
 * TensorFlow.js graph models -> ONNX, in memory, so the published body models (MediaPipe selfie
 * segmentation, MoveNet MultiPose; TensorFlow.js files in an npm package, verified by the model
 * store) run on ONNX Runtime like every other model here: 6-7x faster than TensorFlow.js's
 * WebAssembly backend on these networks, on the same thread pool and GPU providers
 * (docs/DECISIONS.md, "Body pose and segmentation"; bench/pose-runtimes.ts).
 *
 * It covers the operators of convolutional networks of this kind, not TensorFlow at large: an
 * operator it does not know is a ModelError naming it. The NHWC graph becomes an NCHW ONNX
 * graph: one transpose at the input, filters rearranged at conversion time, per-channel
 * constants reshaped for NCHW broadcasting, one transpose per output. Weights that the
 * TensorFlow.js converter quantised to float16 or uint8 are expanded to float32. Only what the
 * requested outputs depend on is converted (MoveNet's in-graph decoding after its heads is done
 * in TypeScript: core/pose/movenet-decode.ts). test/pose/convert.test.ts checks the result
 * against TensorFlow.js itself.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ModelError } from '../base/errors.ts';
import { type Dim, fromFloat16Bits, GraphBuilder } from './onnx-build.ts';

interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<
    string,
    { s?: string; i?: string; f?: number; b?: boolean; list?: { i?: string[]; s?: string[] } }
  >;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
  quantization?: { dtype: 'float16' | 'uint8' | 'uint16'; scale?: number; min?: number };
}

interface Const {
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Read every weight of a TensorFlow.js graph model as float32 (or int32) arrays. */
function readWeights(jsonPath: string): { nodes: TfNode[]; weights: Map<string, Const> } {
  const json = JSON.parse(readFileSync(jsonPath, 'utf8'));
  if (json.format !== 'graph-model' || !Array.isArray(json.weightsManifest))
    throw new Error(`not a TensorFlow.js graph model (format ${json.format ?? 'missing'})`);
  const dir = path.dirname(jsonPath);
  const weights = new Map<string, Const>();
  for (const group of json.weightsManifest) {
    const bufs = group.paths.map((p: string) => {
      const file = path.resolve(dir, p);
      if (!file.startsWith(dir + path.sep))
        throw new Error(`weight shard ${p} lies outside the model folder`);
      return readFileSync(file);
    });
    const all = Buffer.concat(bufs);
    const total = (group.weights as WeightSpec[]).reduce((n, w) => {
      const count = w.shape.reduce((a, b) => a * b, 1);
      const size = w.quantization ? (w.quantization.dtype === 'uint8' ? 1 : 2) : 4;
      return n + count * size;
    }, 0);
    if (all.length !== total)
      throw new Error(`weights hold ${all.length} bytes, the manifest describes ${total}`);
    let at = 0;
    for (const w of group.weights as WeightSpec[]) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const q = w.quantization;
      let data: Float32Array | Int32Array;
      if (q?.dtype === 'float16') {
        data = new Float32Array(n);
        for (let i = 0; i < n; i++) data[i] = fromFloat16Bits(all.readUInt16LE(at + 2 * i));
        at += 2 * n;
      } else if (q?.dtype === 'uint8' || q?.dtype === 'uint16') {
        const size = q.dtype === 'uint8' ? 1 : 2;
        data = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          const v = size === 1 ? all[at + i] : all.readUInt16LE(at + 2 * i);
          data[i] = v * (q.scale ?? 1) + (q.min ?? 0);
        }
        at += size * n;
        if (w.dtype === 'int32') data = Int32Array.from(data, Math.round);
      } else if (w.dtype === 'int32') {
        data = new Int32Array(n);
        for (let i = 0; i < n; i++) data[i] = all.readInt32LE(at + 4 * i);
        at += 4 * n;
      } else {
        data = new Float32Array(n);
        for (let i = 0; i < n; i++) data[i] = all.readFloatLE(at + 4 * i);
        at += 4 * n;
      }
      weights.set(w.name, { shape: w.shape, data });
    }
  }
  return { nodes: json.modelTopology.node, weights };
}

const b64 = (s?: string) => (s ? Buffer.from(s, 'base64').toString('utf8') : '');
const ints = (a: TfNode['attr'], k: string) => (a?.[k]?.list?.i ?? []).map(Number);

/** Rearrange a [kh, kw, a, b] filter to [b, a, kh, kw] (conv) or [a*b, 1, kh, kw] (depthwise). */
function filterToOnnx(c: Const, depthwise: boolean): { dims: number[]; data: Float32Array } {
  const [kh, kw, a, b] = c.shape;
  const out = new Float32Array(c.data.length);
  if (depthwise) {
    // [kh, kw, in, mult] -> [in*mult, 1, kh, kw]
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let i = 0; i < a; i++)
          for (let m = 0; m < b; m++)
            out[((i * b + m) * kh + y) * kw + x] = c.data[((y * kw + x) * a + i) * b + m];
    return { dims: [a * b, 1, kh, kw], data: out };
  }
  // [kh, kw, in, out] -> [out, in, kh, kw]
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < a; i++)
        for (let o = 0; o < b; o++)
          out[((o * a + i) * kh + y) * kw + x] = c.data[((y * kw + x) * a + i) * b + o];
  return { dims: [b, a, kh, kw], data: out };
}

export interface ConvertOptions {
  /** For error messages (the model id). */
  name?: string;
  /** The input's NHWC shape; strings name dynamic axes. */
  inputShape: Dim[];
  inputType?: 'float32' | 'int32';
  /** Graph nodes whose values become outputs (NHWC again), and the outputs' names. */
  outputs: { node: string; name: string }[];
}

/** Convert a graph model (its model.json; weight shards beside it) to ONNX model bytes. */
export function tfjsToOnnx(jsonPath: string, opts: ConvertOptions): Uint8Array {
  try {
    return convert(jsonPath, opts);
  } catch (e) {
    throw new ModelError(
      'model_convert',
      `Could not convert model "${opts.name ?? jsonPath}" to ONNX: ${(e as Error).message}.`,
      { cause: e, context: { name: opts.name ?? jsonPath } },
    );
  }
}

function convert(jsonPath: string, opts: ConvertOptions): Uint8Array {
  const { nodes, weights } = readWeights(jsonPath);
  const g = new GraphBuilder(path.basename(jsonPath));
  const values = new Map<string, string>();
  const consts = new Map<string, Const>();
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const ref = (name: string) => name.replace(/^\^/, '').replace(/:0$/, '');
  for (const n of nodes)
    if (n.op === 'Const' && weights.has(n.name)) consts.set(n.name, weights.get(n.name) as Const);
  /** A constant as an ONNX value, laid out for NCHW broadcasting against 4-D activations. */
  const constValue = (name: string): string => {
    const c = consts.get(name) as Const;
    let dims = c.shape;
    let data: ArrayLike<number> = c.data;
    if (dims.length === 4) {
      const [n0, h, w, ch] = dims;
      const t = new Float32Array(c.data.length);
      for (let a = 0; a < n0; a++)
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++)
            for (let k = 0; k < ch; k++)
              t[((a * ch + k) * h + y) * w + x] = c.data[((a * h + y) * w + x) * ch + k];
      dims = [n0, ch, h, w];
      data = t;
    } else if (dims.length === 1 && dims[0] > 1) dims = [dims[0], 1, 1];
    return c.data instanceof Int32Array ? g.init('int32', dims, data) : g.init('float32', dims, data);
  };
  const get = (name: string): string => {
    const r = ref(name);
    const v = values.get(r);
    if (v) return v;
    if (consts.has(r)) {
      const c = constValue(r);
      values.set(r, c);
      return c;
    }
    throw new Error(`unknown value ${r} (${byName.get(r)?.op ?? 'missing'})`);
  };
  const pad = (a: TfNode['attr']) => (b64(a?.padding?.s) === 'SAME' ? 'SAME_UPPER' : 'VALID');
  const act = (x: string, op: string): string => {
    if (op === 'Relu') return g.op('Relu', [x]);
    if (op === 'Relu6') return g.op('Clip', [x, g.constF32([0], []), g.constF32([6], [])]);
    if (op === 'Sigmoid') return g.op('Sigmoid', [x]);
    throw new Error(`fused activation ${op}`);
  };
  const conv = (n: TfNode, depthwise: boolean, fused: string[]): string => {
    const x = get(n.input![0]);
    const f = consts.get(ref(n.input![1]));
    if (!f) throw new Error(`${n.name}: filter is not a constant`);
    const w = filterToOnnx(f, depthwise);
    const strides = ints(n.attr, 'strides');
    const dil = ints(n.attr, 'dilations');
    const inputs = [x, g.init('float32', w.dims, w.data)];
    const extra = (n.input ?? []).slice(2).filter((s) => !s.startsWith('^'));
    if (fused[0] === 'BiasAdd')
      inputs.push(
        g.init('float32', [consts.get(ref(extra[0]))!.data.length], consts.get(ref(extra[0]))!.data),
      );
    let y = g.op('Conv', inputs, {
      auto_pad: pad(n.attr),
      strides: [strides[1] ?? 1, strides[2] ?? 1],
      dilations: [dil[1] ?? 1, dil[2] ?? 1],
      kernel_shape: w.dims.slice(2),
      group: depthwise ? w.dims[0] : 1,
    });
    for (const op of fused.slice(1)) y = act(y, op);
    return y;
  };
  const placeholder = nodes.find((n) => n.op === 'Placeholder');
  if (!placeholder) throw new Error('the graph has no input');
  const x0 = g.input(placeholder.name, opts.inputType ?? 'float32', opts.inputShape);
  const nchw = g.op('Transpose', [opts.inputType === 'int32' ? g.op('Cast', [x0], { to: 1 }) : x0], {
    perm: [0, 3, 1, 2],
  });
  // Only what the outputs depend on (MoveNet's in-graph decoding after its heads is left out).
  const needed = new Set<string>();
  const visit = (name: string) => {
    const r = ref(name);
    if (needed.has(r)) return;
    needed.add(r);
    const n = byName.get(r);
    // A resize's size is read here from constants (see ResizeBilinear below), not converted.
    const inputs = n?.op === 'ResizeBilinear' ? (n.input ?? []).slice(0, 1) : (n?.input ?? []);
    for (const i of inputs) if (!i.startsWith('^')) visit(i);
  };
  for (const o of opts.outputs) visit(o.node);
  for (const n of nodes) {
    if (!needed.has(n.name)) continue;
    const fusedOps = (n.attr?.fused_ops?.list?.s ?? []).map(b64);
    let out: string;
    switch (n.op) {
      case 'Const':
        continue;
      case 'Placeholder':
        out = nchw;
        break;
      case 'Identity':
        out = get(n.input![0]);
        break;
      case 'Cast':
        out = g.op('Cast', [get(n.input![0])], { to: 1 });
        break;
      case 'Conv2D':
        out = conv(n, false, []);
        break;
      case '_FusedConv2D':
        out = conv(n, false, fusedOps);
        break;
      case 'DepthwiseConv2dNative':
        out = conv(n, true, []);
        break;
      case 'FusedDepthwiseConv2dNative':
        out = conv(n, true, fusedOps);
        break;
      case 'Add':
      case 'AddV2':
      case 'BiasAdd':
        out = g.op('Add', [get(n.input![0]), get(n.input![1])]);
        break;
      case 'Sub':
        out = g.op('Sub', [get(n.input![0]), get(n.input![1])]);
        break;
      case 'Mul':
        out = g.op('Mul', [get(n.input![0]), get(n.input![1])]);
        break;
      case 'RealDiv':
        out = g.op('Div', [get(n.input![0]), get(n.input![1])]);
        break;
      case 'AddN':
        out = g.op('Sum', (n.input ?? []).filter((s) => !s.startsWith('^')).map(get));
        break;
      case 'Relu':
      case 'Relu6':
      case 'Sigmoid':
        out = act(get(n.input![0]), n.op);
        break;
      case 'AvgPool':
      case 'MaxPool': {
        const k = ints(n.attr, 'ksize');
        const s = ints(n.attr, 'strides');
        out = g.op(n.op === 'AvgPool' ? 'AveragePool' : 'MaxPool', [get(n.input![0])], {
          auto_pad: pad(n.attr),
          kernel_shape: [k[1], k[2]],
          strides: [s[1], s[2]],
        });
        break;
      }
      case 'ResizeBilinear': {
        const x = get(n.input![0]);
        const mode = n.attr?.align_corners?.b
          ? 'align_corners'
          : n.attr?.half_pixel_centers?.b
            ? 'half_pixel'
            : 'asymmetric';
        const size = consts.get(ref(n.input![1]));
        if (size) {
          const nc = g.op('Slice', [g.op('Shape', [x]), g.constI64([0]), g.constI64([2])]);
          const sizes = g.op('Concat', [nc, g.constI64([size.data[0], size.data[1]])], { axis: 0 });
          out = g.op('Resize', [x, '', '', sizes], { mode: 'linear', coordinate_transformation_mode: mode });
          break;
        }
        // Keras UpSampling2D: size = Shape(x)[1:3] * factors, so Resize by those scales.
        const mul = byName.get(ref(n.input![1]));
        const factors =
          mul?.op === 'Mul' ? (mul.input ?? []).map((i) => consts.get(ref(i))).find(Boolean) : undefined;
        if (!factors) throw new Error(`${n.name}: size is neither a constant nor an upsampling factor`);
        out = g.op('Resize', [x, '', g.constF32([1, 1, factors.data[0], factors.data[1]])], {
          mode: 'linear',
          coordinate_transformation_mode: mode,
        });
        break;
      }
      case 'Conv2DBackpropInput': {
        // inputs: output shape (NHWC), filter [kh, kw, out, in], value
        const shape = consts.get(ref(n.input![0]));
        const f = consts.get(ref(n.input![1]));
        if (!shape || !f) throw new Error(`${n.name}: shape and filter must be constants`);
        const [kh, kw, o, i] = f.shape;
        const w = new Float32Array(f.data.length);
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++)
            for (let a = 0; a < o; a++)
              for (let b = 0; b < i; b++)
                w[((b * o + a) * kh + y) * kw + x] = f.data[((y * kw + x) * o + a) * i + b];
        const s = ints(n.attr, 'strides');
        out = g.op('ConvTranspose', [get(n.input![2]), g.init('float32', [i, o, kh, kw], w)], {
          auto_pad: pad(n.attr),
          strides: [s[1], s[2]],
          kernel_shape: [kh, kw],
          output_shape: [shape.data[1], shape.data[2]],
        });
        break;
      }
      default:
        throw new Error(`operator ${n.op} (${n.name}) is not covered`);
    }
    values.set(n.name, out);
  }
  for (const o of opts.outputs) {
    g.output(g.op('Transpose', [get(o.node)], { perm: [0, 2, 3, 1] }), o.name, 'float32', [
      'n',
      'h',
      'w',
      'c',
    ]);
  }
  return g.toBytes({ producer: 'facechain-bot models/tfjs-convert.ts', opset: 17 });
}
