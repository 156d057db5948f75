/**
 * Adds LoRA deltas with ONNX Runtime's GEMM: W + scale·up·down for every layer. A rank-32 style
 * LoRA over SD 1.5's attention layers is ~3·10⁹ multiply-adds, seconds in JavaScript loops and a
 * fraction of that in MLAS (bench/identity.ts prints both).
 */

import { OnnxSession } from '../../models/onnx.ts';
import { lowRankAddModel } from '../../models/onnx-edit.ts';
import { addLoraDelta, type LoraModule } from './lora.ts';

export interface DeltaAdder {
  /** Returns W with the delta added (may be a new array). */
  add(w: Float32Array, m: LoraModule, scale: number, transposed: boolean): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** Plain loops (no sessions); the reference the GEMM path is tested against. */
export const jsAdder: DeltaAdder = {
  async add(w, m, scale, transposed) {
    addLoraDelta(w, m, scale, transposed);
    return w;
  },
  async dispose() {},
};

export class OrtAdder implements DeltaAdder {
  private constructor(
    private readonly plain: OnnxSession,
    private readonly transposedSession: OnnxSession,
  ) {}

  static async create(threads = 1): Promise<OrtAdder> {
    const opts = { threads, memPattern: false };
    return new OrtAdder(
      await OnnxSession.create(lowRankAddModel(false), { ...opts, name: 'lowrank-add' }),
      await OnnxSession.create(lowRankAddModel(true), { ...opts, name: 'lowrank-add-transposed' }),
    );
  }

  async add(w: Float32Array, m: LoraModule, scale: number, transposed: boolean): Promise<Float32Array> {
    const O = m.outFeatures;
    const I = m.inFeatures;
    const s = transposed ? this.transposedSession : this.plain;
    const out = await s.run({
      w: { type: 'float32', data: w, dims: transposed ? [I, O] : [O, I] },
      up: { type: 'float32', data: m.up, dims: [O, m.rank] },
      down: { type: 'float32', data: m.down, dims: [m.rank, I] },
      scale: { type: 'float32', data: new Float32Array([scale]), dims: [1] },
    });
    return out.out!.data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.plain.dispose();
    await this.transposedSession.dispose();
  }
}

let shared: Promise<OrtAdder> | undefined;

/** One GEMM adder per process (two tiny sessions, kept for the process's life). */
export function defaultAdder(): Promise<DeltaAdder> {
  shared ??= import('../config.ts').then(({ config }) => OrtAdder.create(config().FACECHAIN_ORT_THREADS));
  return shared;
}
