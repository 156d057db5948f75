/** Feeding float tensors to models that may be fp32 or fp16 exports, and reading them back. */

import { f16ToF32, f32ToF16 } from '../../models/half.ts';
import type { Tensor, TensorType } from '../../models/onnx.ts';

/** A reusable input: converts Float32 data to the model's float type without reallocating. */
export class FloatFeed {
  private half?: Uint16Array;
  constructor(readonly type: TensorType) {}

  tensor(data: Float32Array, dims: readonly number[]): Tensor {
    if (this.type === 'float16') {
      if (!this.half || this.half.length !== data.length) this.half = new Uint16Array(data.length);
      f32ToF16(data, this.half);
      return { type: 'float16', data: this.half, dims };
    }
    return { type: 'float32', data, dims };
  }
}

/** Output as Float32Array (copied into dst when given, converted from fp16 when needed). */
export function readFloat(t: Tensor, dst?: Float32Array): Float32Array {
  if (t.type === 'float16') return f16ToF32(t.data as Uint16Array, dst ?? new Float32Array(t.data.length));
  const src = t.data as Float32Array;
  if (dst) {
    dst.set(src);
    return dst;
  }
  return src;
}

/** Input type of a session input by name, defaulting to float32. */
export function inputType(inputs: readonly { name: string; type: string }[], name: string): TensorType {
  return (inputs.find((i) => i.name === name)?.type as TensorType | undefined) ?? 'float32';
}
