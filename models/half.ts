/**
 * float32 ⇄ float16 (and bfloat16 → float32) conversion, shared by fp16 model exports (ONNX
 * Runtime's node binding carries float16 tensors as Uint16Array), fp16/bf16 LoRA files and the
 * fixture-model builder. Table-driven so a 2x4x64x64 latent converts in well under a
 * millisecond; rounding is to nearest even, as numpy and PyTorch do.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

// Per float32 exponent (with sign): base bits and mantissa shift (van der Zijp's tables).
const baseTable = new Uint16Array(512);
const shiftTable = new Uint8Array(512);
for (let i = 0; i < 256; i++) {
  const e = i - 127;
  if (e < -24) {
    baseTable[i] = 0x0000;
    baseTable[i | 0x100] = 0x8000;
    shiftTable[i] = shiftTable[i | 0x100] = 24;
  } else if (e < -14) {
    baseTable[i] = 0x0400 >> (-e - 14);
    baseTable[i | 0x100] = (0x0400 >> (-e - 14)) | 0x8000;
    shiftTable[i] = shiftTable[i | 0x100] = -e - 1;
  } else if (e <= 15) {
    baseTable[i] = (e + 15) << 10;
    baseTable[i | 0x100] = ((e + 15) << 10) | 0x8000;
    shiftTable[i] = shiftTable[i | 0x100] = 13;
  } else if (e < 128) {
    baseTable[i] = 0x7c00;
    baseTable[i | 0x100] = 0xfc00;
    shiftTable[i] = shiftTable[i | 0x100] = 24;
  } else {
    baseTable[i] = 0x7c00;
    baseTable[i | 0x100] = 0xfc00;
    shiftTable[i] = shiftTable[i | 0x100] = 13;
  }
}

/** One float → half bits, round to nearest even. */
export function toHalf(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const idx = x >>> 23;
  const exp = idx & 0xff;
  if (exp === 0xff) return baseTable[idx] | (x & 0x7fffff ? 0x200 : 0); // Inf/NaN
  const shift = shiftTable[idx];
  const mant = x & 0x7fffff;
  const full = exp === 0 ? mant : mant | 0x800000;
  if (shift === 24) return baseTable[idx]; // underflow to ±0 or overflow to ±Inf
  if (shift === 13) {
    let h = baseTable[idx] + (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
    return h;
  }
  // Subnormal half: shift the implicit-one mantissa.
  let h = (baseTable[idx] & 0x8000) | (full >>> shift);
  const rem = full & ((1 << shift) - 1);
  const mid = 1 << (shift - 1);
  if (rem > mid || (rem === mid && h & 1)) h++;
  return h;
}

export function f32ToF16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  for (let i = 0; i < src.length; i++) dst[i] = toHalf(src[i]);
  return dst;
}

const halfToFloatTable = new Float32Array(65536);
for (let h = 0; h < 65536; h++) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  halfToFloatTable[h] =
    exp === 0
      ? sign * mant * 2 ** -24
      : exp === 0x1f
        ? mant
          ? Number.NaN
          : sign * Number.POSITIVE_INFINITY
        : sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function f16ToF32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  for (let i = 0; i < src.length; i++) dst[i] = halfToFloatTable[src[i]];
  return dst;
}

/** One half (bits) → number. */
export function halfToFloat(h: number): number {
  return halfToFloatTable[h & 0xffff];
}

/** bfloat16 bits → number (the top half of a float32). */
export function bf16ToFloat(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0];
}

/** Decode little-endian half bytes (as stored in files) into float32. */
export function halvesToFloat32(bytes: Uint8Array): Float32Array {
  const n = bytes.byteLength >>> 1;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = halfToFloatTable[dv.getUint16(i * 2, true)];
  return out;
}

/** Encode float32 values as little-endian half bytes (as stored in files). */
export function float32ToHalves(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) dv.setUint16(i * 2, toHalf(values[i]), true);
  return out;
}
