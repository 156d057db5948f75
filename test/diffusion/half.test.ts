import { describe, expect, it } from 'vitest';
import { f16ToF32, f32ToF16, toHalf } from '../../models/half.ts';

describe('float16 conversion', () => {
  it('matches IEEE half bit patterns (round to nearest even)', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.1, 0x2e66],
      [65504, 0x7bff],
      [65520, 0x7c00], // rounds up to Inf
      [1e9, 0x7c00],
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // ties to even → 0
      [3 * 2 ** -25, 0x0002], // 1.5 ulp → 2 (even)
      [2 ** -14, 0x0400], // smallest normal
      [1 + 2 ** -11, 0x3c00], // tie → even (down)
      [1 + 3 * 2 ** -11, 0x3c02], // tie → even (up)
      [Number.POSITIVE_INFINITY, 0x7c00],
    ];
    for (const [v, bits] of cases) expect(toHalf(v), String(v)).toBe(bits);
    expect(toHalf(Number.NaN) & 0x7c00).toBe(0x7c00);
    expect(toHalf(Number.NaN) & 0x3ff).not.toBe(0);
  });

  it('round-trips every finite half value exactly', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = f32ToF16(f16ToF32(all));
    for (let h = 0; h < 65536; h++) {
      const exp = (h >>> 10) & 0x1f;
      if (exp === 0x1f && h & 0x3ff) continue; // NaN payloads
      if (back[h] !== h) throw new Error(`half ${h.toString(16)} came back as ${back[h].toString(16)}`);
    }
  });
});
