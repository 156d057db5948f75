/**
 * The one place that imports TensorFlow.js (a dev dependency): the reference runtime the body
 * models were published for. The product runs them on ONNX Runtime after converting them
 * (models/tfjs-convert.ts); this module runs the original graphs so that test/pose/convert.test.ts
 * can check the conversion and bench/pose-runtimes.ts can time both (docs/DECISIONS.md, "Body
 * pose and segmentation"). WebAssembly backend: it installs from npm with no native download.
 *
 * Callers see the same plain `Tensor` as with ONNX models (models/onnx.ts) and never a
 * TensorFlow.js type. Like ONNX Runtime's run(), execute() computes on the calling thread.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import '@tensorflow/tfjs-backend-wasm';
import { type GraphModel, loadGraphModel } from '@tensorflow/tfjs-converter';
import * as tf from '@tensorflow/tfjs-core';
import { ModelError } from '../../base/errors.ts';
import type { TensorSpec } from '../../models/manifest.ts';
import type { Tensor, TensorData, TensorType } from '../../models/onnx.ts';

let ready: Promise<void> | undefined;

/** Select the WebAssembly backend once per thread (TensorFlow.js keeps one engine per thread). */
function backend(): Promise<void> {
  ready ??= (async () => {
    // Kernel timing and NaN checks are debugging aids: off.
    tf.env().set('DEBUG', false);
    if (!(await tf.setBackend('wasm'))) {
      throw new ModelError(
        'model_load',
        'The TensorFlow.js WebAssembly backend did not start (its .wasm files ship in @tensorflow/tfjs-backend-wasm; run npm ci).',
      );
    }
    await tf.ready();
  })().catch((e) => {
    ready = undefined;
    throw e;
  });
  return ready;
}

interface TfjsModelJson {
  format?: string;
  modelTopology: unknown;
  weightsManifest: { paths: string[]; weights: unknown[] }[];
  signature?: unknown;
  generatedBy?: string;
  convertedBy?: string;
}

const DTYPES: Record<string, TensorType> = { float32: 'float32', int32: 'int32', bool: 'bool' };

export class TfjsGraph {
  private constructor(
    private readonly model: GraphModel,
    readonly name: string,
  ) {}

  /** The model's inputs as [name, dtype, shape] (−1 for free dims), for checks and messages. */
  get inputs(): { name: string; type: string; shape: number[] }[] {
    return this.model.inputs.map((i) => ({
      name: i.name,
      type: String(i.dtype),
      shape: (i.shape ?? []).map((d) => d ?? -1),
    }));
  }

  /**
   * Load a graph model from its model.json; the weight shards it names are read from the same
   * folder (the model store has verified every file already).
   */
  static async load(
    jsonPath: string,
    opts: { name?: string; expectInputs?: TensorSpec[] } = {},
  ): Promise<TfjsGraph> {
    const name = opts.name ?? jsonPath;
    await backend();
    let model: GraphModel;
    try {
      const json = JSON.parse(await readFile(jsonPath, 'utf8')) as TfjsModelJson;
      if (json.format !== 'graph-model' || !Array.isArray(json.weightsManifest))
        throw new Error(`not a TensorFlow.js graph model (format ${json.format ?? 'missing'})`);
      const dir = path.dirname(jsonPath);
      const shards: Uint8Array[] = [];
      const weightSpecs: unknown[] = [];
      for (const group of json.weightsManifest) {
        for (const p of group.paths) {
          const file = path.resolve(dir, p);
          if (!file.startsWith(dir + path.sep))
            throw new Error(`weight shard ${p} lies outside the model folder`);
          shards.push(new Uint8Array(await readFile(file)));
        }
        weightSpecs.push(...group.weights);
      }
      const total = shards.reduce((n, s) => n + s.length, 0);
      const weightData = new Uint8Array(total);
      let at = 0;
      for (const s of shards) {
        weightData.set(s, at);
        at += s.length;
      }
      model = await loadGraphModel({
        load: async () => ({
          modelTopology: json.modelTopology as object,
          weightSpecs: weightSpecs as never,
          weightData: weightData.buffer,
          format: json.format,
          generatedBy: json.generatedBy,
          convertedBy: json.convertedBy,
          signature: json.signature as object,
        }),
      });
    } catch (e) {
      throw new ModelError('model_load', `Could not load model "${name}": ${(e as Error).message}.`, {
        cause: e,
        context: { name },
      });
    }
    const g = new TfjsGraph(model, name);
    for (const e of opts.expectInputs ?? []) {
      const a = g.inputs.find((i) => i.name === e.name);
      const sameShape =
        a &&
        a.shape.length === e.shape.length &&
        a.shape.every((d, k) => d < 0 || typeof e.shape[k] !== 'number' || d === e.shape[k]);
      if (!a || a.type !== e.type || !sameShape) {
        g.dispose();
        throw new ModelError(
          'model_mismatch',
          `Model "${name}" does not match its manifest: expected input ${e.name}: ${e.type} [${e.shape.join(', ')}], the model has ${g.inputs
            .map((i) => `${i.name}: ${i.type} [${i.shape.join(', ')}]`)
            .join('; ')}.`,
          { context: { name } },
        );
      }
    }
    return g;
  }

  /**
   * Run the graph on one input and return its outputs (in the model's output order). Inputs are
   * float32 or int32 tensors. Intermediate TensorFlow.js tensors are freed before returning.
   */
  async run(input: Tensor): Promise<Tensor[]> {
    if (input.type !== 'float32' && input.type !== 'int32')
      throw new ModelError(
        'model_input',
        `Model "${this.name}" takes float32 or int32 input, given ${input.type}.`,
      );
    const count = input.dims.reduce((a, b) => a * b, 1);
    if (count !== input.data.length)
      throw new ModelError(
        'model_input',
        `Input for model "${this.name}" has ${input.data.length} values for dims [${input.dims.join(', ')}].`,
      );
    const x = tf.tensor(input.data as Float32Array | Int32Array, [...input.dims], input.type);
    let outs: tf.Tensor[] = [];
    try {
      const r = this.model.execute(x);
      outs = Array.isArray(r) ? r : [r as tf.Tensor];
      const result: Tensor[] = [];
      for (const o of outs) {
        const type = DTYPES[o.dtype];
        if (!type) throw new Error(`output of type ${o.dtype}`);
        result.push({ type, data: (await o.data()) as TensorData, dims: o.shape });
      }
      return result;
    } catch (e) {
      if (e instanceof ModelError) throw e;
      throw new ModelError('model_run', `Model "${this.name}" failed to run: ${(e as Error).message}`, {
        cause: e,
      });
    } finally {
      x.dispose();
      for (const o of outs) o.dispose();
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}
