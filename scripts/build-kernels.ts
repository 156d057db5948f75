/**
 * Compiles core/image/kernels.wat into core/image/kernels.wasm: `npm run build:kernels`. Only
 * this script and the test that checks the committed binary against its source load the
 * compiler (wabt, a dev dependency); the service reads the built kernels.wasm.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const KERNELS_WAT = new URL('../core/image/kernels.wat', import.meta.url);
export const KERNELS_WASM = new URL('../core/image/kernels.wasm', import.meta.url);

export async function compileKernels(source: string): Promise<Uint8Array> {
  const wabt = await (await import('wabt')).default();
  const mod = wabt.parseWat('kernels.wat', source, { simd: true });
  try {
    mod.validate();
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { readFileSync } = await import('node:fs');
  const wasm = await compileKernels(readFileSync(KERNELS_WAT, 'utf8'));
  writeFileSync(KERNELS_WASM, wasm);
  console.log(`${fileURLToPath(KERNELS_WASM)}: ${wasm.length} bytes`);
}
