/**
 * Image kernels in WebAssembly (source kernels.wat, built into kernels.wasm by
 * `npm run build:kernels`), with bit-identical results to the JavaScript loops in warp.ts: the
 * 2x2 box halving of a photo's pyramid (SIMD, about 4x faster than JS) and the detector inputs'
 * bilinear sampling (about 1.8x). The only place WebAssembly is
 * instantiated. Each KernelArena owns its memory; kernels read and write only inside it, so
 * images are copied in (a memcpy, a fraction of the halving's cost).
 */
import { readFileSync } from 'node:fs';

interface Exports {
  memory: WebAssembly.Memory;
  halve(src: number, width: number, height: number, dst: number): void;
  planar(...args: number[]): void;
}

/** Arguments of KernelArena.planar (offsets are bytes in the arena). */
export interface PlanarBand {
  /** The source image and its row length in bytes. */
  src: number;
  stride: number;
  /** Per output row / column: i32 byte offsets into the source (negative: a tap outside) and f64 fractions. */
  rowOffs: number;
  rowTs: number;
  colOffs: number;
  colTs: number;
  outW: number;
  /** Output rows v0 .. v1 - 1, written to `out` as three planes of (v1 - v0) x outW floats. */
  v0: number;
  v1: number;
  out: number;
  /** Rows give source y and columns x (else the reverse: a 90-degree turn). */
  straight: boolean;
  /** Byte of output channels 0 and 2 within a source pixel (0 and 2; 2 and 0 for BGR). */
  k0: number;
  k2: number;
  /** Per output channel: mean and 1 / std; and the normalised fill for taps outside. */
  norm: readonly [number, number, number, number, number, number];
  fill: readonly [number, number, number];
}

const PAGE = 65_536;

// The parts of the WebAssembly API used here (the project's TypeScript libs carry no DOM types).
declare global {
  namespace WebAssembly {
    interface Memory {
      readonly buffer: ArrayBuffer;
      grow(pages: number): number;
    }
    class Module {
      constructor(bytes: Uint8Array);
    }
    class Instance {
      constructor(module: Module);
      readonly exports: Record<string, unknown>;
    }
    function validate(bytes: Uint8Array): boolean;
  }
}

/** The compiled module, or undefined where this runtime lacks WebAssembly SIMD (JS loops then). */
const MODULE: WebAssembly.Module | undefined = (() => {
  try {
    const bytes = readFileSync(new URL('./kernels.wasm', import.meta.url));
    return WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : undefined;
  } catch {
    return undefined;
  }
})();

export function kernelsAvailable(): boolean {
  return MODULE !== undefined;
}

/**
 * A WebAssembly memory with the kernels bound to it. Offsets are byte positions in it. Growing
 * (reserve) detaches every view taken before, so an owner reserves all it needs first.
 */
export class KernelArena {
  private constructor(private readonly k: Exports) {}

  /**
   * A new arena, or undefined without WebAssembly SIMD or when the runtime cannot reserve another
   * WebAssembly memory (an address-space limit such as `ulimit -v`): callers then use the JS loops.
   */
  static create(): KernelArena | undefined {
    if (!MODULE) return undefined;
    try {
      return new KernelArena(new WebAssembly.Instance(MODULE).exports as unknown as Exports);
    } catch {
      return undefined;
    }
  }

  get size(): number {
    return this.k.memory.buffer.byteLength;
  }

  /** Make room for `bytes` from offset 0 (memory never shrinks). Throws RangeError when it cannot grow. */
  reserve(bytes: number): void {
    const missing = bytes - this.size;
    if (missing > 0) this.k.memory.grow(Math.ceil(missing / PAGE));
  }

  /** Bytes [offset, offset + length) of the arena, valid until the next growing reserve(). */
  view(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.k.memory.buffer, offset, length);
  }

  i32(offset: number, length: number): Int32Array {
    return new Int32Array(this.k.memory.buffer, offset, length);
  }

  f32(offset: number, length: number): Float32Array {
    return new Float32Array(this.k.memory.buffer, offset, length);
  }

  f64(offset: number, length: number): Float64Array {
    return new Float64Array(this.k.memory.buffer, offset, length);
  }

  /**
   * Bilinear samples into normalised planar floats for one band of output rows (kernels.wat
   * "planar"). Pixels with a tap outside the source get the fill; the caller redoes the
   * one-pixel border ring, where one tap is inside.
   */
  planar(b: PlanarBand): void {
    this.k.planar(
      b.src,
      b.stride,
      b.rowOffs,
      b.rowTs,
      b.colOffs,
      b.colTs,
      b.outW,
      b.v0,
      b.v1,
      b.out,
      b.straight ? 1 : 0,
      b.k0,
      b.k2,
      ...b.norm,
      ...b.fill,
    );
  }

  /** 2x2 box halving of the width x height RGB image at src into dst; width, height >= 2. */
  halve(src: number, width: number, height: number, dst: number): void {
    this.k.halve(src, width, height, dst);
  }
}
