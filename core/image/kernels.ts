/**
 * Image kernels in WebAssembly SIMD (source kernels.wat, built into kernels.wasm by
 * `npm run build:kernels`): the 2x2 box halving of a photo's pyramid runs about 4x faster there
 * than in the JavaScript loop, with bit-identical results. The only place WebAssembly is
 * instantiated. Each KernelArena owns its memory; kernels read and write only inside it, so
 * images are copied in (a memcpy, a fraction of the halving's cost).
 */
import { readFileSync } from 'node:fs';

interface Exports {
  memory: WebAssembly.Memory;
  halve(src: number, width: number, height: number, dst: number): void;
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

  /** A new arena, or undefined without WebAssembly SIMD. */
  static create(): KernelArena | undefined {
    if (!MODULE) return undefined;
    return new KernelArena(new WebAssembly.Instance(MODULE).exports as unknown as Exports);
  }

  get size(): number {
    return this.k.memory.buffer.byteLength;
  }

  /** Make room for `bytes` from offset 0 (memory never shrinks). */
  reserve(bytes: number): void {
    const missing = bytes - this.size;
    if (missing > 0) this.k.memory.grow(Math.ceil(missing / PAGE));
  }

  /** Bytes [offset, offset + length) of the arena, valid until the next growing reserve(). */
  view(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.k.memory.buffer, offset, length);
  }

  /** 2x2 box halving of the width x height RGB image at src into dst; width, height >= 2. */
  halve(src: number, width: number, height: number, dst: number): void {
    this.k.halve(src, width, height, dst);
  }
}
