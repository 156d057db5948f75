/**
 * The one place that imports onnxruntime-node. Sessions are created with explicit thread counts
 * and execution providers; every run checks input names, types and shapes first and reports
 * mismatches with each input's name, type and dims (ONNX Runtime's own errors are terse).
 *
 * run() blocks the calling thread inside ONNX Runtime: callers that share a thread with I/O
 * (BullMQ lock renewal, chat gateways) must call it from a worker thread.
 */
import ort from 'onnxruntime-node';
import { ModelError } from '../base/errors.ts';
import type { TensorSpec } from './manifest.ts';

export type TensorType = 'float32' | 'float16' | 'int64' | 'int32' | 'uint8' | 'bool';
export type TensorData = Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;

/** A plain tensor: what callers pass in and get back, with no ONNX Runtime types leaking out. */
export interface Tensor {
  type: TensorType;
  data: TensorData;
  dims: readonly number[];
}

export interface SessionOptions {
  /** Intra-op threads; 0 lets ONNX Runtime use every core. */
  threads?: number;
  /** Execution providers in order of preference, e.g. ['cuda', 'cpu']. */
  providers?: string[];
  /** A name for error messages (the model id). */
  name?: string;
  /** Expected inputs/outputs from the manifest, checked against the model at load time. */
  expectInputs?: TensorSpec[];
  expectOutputs?: TensorSpec[];
  /** Fixed-shape models can keep ONNX Runtime's memory pattern; variable shapes should not. */
  memPattern?: boolean;
}

interface IoInfo {
  name: string;
  type: string;
  shape: readonly (number | string)[];
}

export function tensor(type: TensorType, data: TensorData, dims: readonly number[]): Tensor {
  return { type, data, dims };
}

export function f32(data: Float32Array, dims: readonly number[]): Tensor {
  return { type: 'float32', data, dims };
}

function fmtShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

function describe(infos: IoInfo[]): string {
  return infos.map((i) => `${i.name}: ${i.type} ${fmtShape(i.shape)}`).join('; ');
}

export class OnnxSession {
  readonly inputs: IoInfo[];
  readonly outputs: IoInfo[];

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly name: string,
  ) {
    const meta = (list: readonly ort.InferenceSession.ValueMetadata[]): IoInfo[] =>
      list.map((m) =>
        m.isTensor
          ? { name: m.name, type: m.type, shape: m.shape }
          : { name: m.name, type: 'non-tensor', shape: [] },
      );
    this.inputs = meta(session.inputMetadata);
    this.outputs = meta(session.outputMetadata);
  }

  static async create(source: string | Uint8Array, opts: SessionOptions = {}): Promise<OnnxSession> {
    const name = opts.name ?? (typeof source === 'string' ? source : 'model');
    const providers = (opts.providers ?? ['cpu']).map((p) => p.toLowerCase());
    let session: ort.InferenceSession;
    try {
      const options: ort.InferenceSession.SessionOptions = {
        executionProviders: providers,
        intraOpNumThreads: opts.threads ?? 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        enableMemPattern: opts.memPattern ?? true,
        logSeverityLevel: 3,
      };
      session =
        typeof source === 'string'
          ? await ort.InferenceSession.create(source, options)
          : await ort.InferenceSession.create(source, options);
    } catch (e) {
      const msg = (e as Error).message;
      const hint = providers.includes('cuda')
        ? ' If the CUDA provider is missing, install onnxruntime-node with its CUDA libraries (README, "GPU install") or set FACECHAIN_EXECUTION_PROVIDERS=cpu.'
        : '';
      throw new ModelError('model_load', `Could not load model "${name}": ${msg}.${hint}`, {
        cause: e,
        context: { name },
      });
    }
    const s = new OnnxSession(session, name);
    if (opts.expectInputs) s.checkSpec('input', opts.expectInputs, s.inputs);
    if (opts.expectOutputs) s.checkSpec('output', opts.expectOutputs, s.outputs);
    return s;
  }

  private checkSpec(kind: string, expected: TensorSpec[], actual: IoInfo[]): void {
    for (const e of expected) {
      const a = actual.find((x) => x.name === e.name);
      const sameShape =
        a &&
        a.shape.length === e.shape.length &&
        a.shape.every((d, i) => typeof d !== 'number' || typeof e.shape[i] !== 'number' || d === e.shape[i]);
      if (!a || a.type !== e.type || !sameShape) {
        throw new ModelError(
          'model_mismatch',
          `Model "${this.name}" does not match its manifest: expected ${kind} ${e.name}: ${e.type} ${fmtShape(e.shape)}, ` +
            `the model has ${describe(actual)}.`,
          { context: { name: this.name } },
        );
      }
    }
  }

  /** Check feeds against the model's inputs; throws with every input's expected and given form. */
  private validate(feeds: Record<string, Tensor>): void {
    const problems: string[] = [];
    for (const i of this.inputs) {
      const t = feeds[i.name];
      if (!t) {
        problems.push(`missing input ${i.name}`);
        continue;
      }
      if (t.type !== i.type) problems.push(`input ${i.name} is ${t.type}, expected ${i.type}`);
      const count = t.dims.reduce((a, b) => a * b, 1);
      if (count !== t.data.length)
        problems.push(`input ${i.name} has ${t.data.length} values for dims ${fmtShape(t.dims)}`);
      const rankOk = t.dims.length === i.shape.length;
      const dimsOk = rankOk && i.shape.every((d, k) => typeof d !== 'number' || d < 0 || d === t.dims[k]);
      if (!dimsOk)
        problems.push(`input ${i.name} has dims ${fmtShape(t.dims)}, expected ${fmtShape(i.shape)}`);
    }
    for (const k of Object.keys(feeds)) {
      if (!this.inputs.some((i) => i.name === k)) problems.push(`unknown input ${k}`);
    }
    if (problems.length) {
      const given = Object.entries(feeds)
        .map(([k, t]) => `${k}: ${t.type} ${fmtShape(t.dims)}`)
        .join('; ');
      throw new ModelError(
        'model_input',
        `Bad inputs for model "${this.name}": ${problems.join(', ')}. Expected ${describe(this.inputs)}; given ${given}.`,
        { context: { name: this.name } },
      );
    }
  }

  /** Run the model. Blocks this thread while ONNX Runtime computes. */
  async run(feeds: Record<string, Tensor>, outputNames?: string[]): Promise<Record<string, Tensor>> {
    this.validate(feeds);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor(t.type, t.data, t.dims);
    let result: ort.InferenceSession.ReturnType;
    try {
      result = outputNames ? await this.session.run(ortFeeds, outputNames) : await this.session.run(ortFeeds);
    } catch (e) {
      throw new ModelError('model_run', `Model "${this.name}" failed to run: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const out: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(result)) {
      out[k] = { type: v.type as TensorType, data: v.data as TensorData, dims: v.dims };
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
