import { describe, expect, it } from 'vitest';
import { type Lora, loraFromSafetensors } from '../../core/lora/lora.ts';
import { mergeLorasIntoModel } from '../../core/lora/merge.ts';
import { parseSafetensors } from '../../core/lora/safetensors.ts';
import { MergedSessionCache, mergeKey } from '../../core/lora/session-cache.ts';
import { buildUnetFixture, makeLoraFile, randomArray } from '../../models/fixtures/lora-fixtures.ts';
import { OnnxSession } from '../../models/onnx.ts';
import { OnnxModel } from '../../models/onnx-edit.ts';

describe('merged-session cache', () => {
  const base = buildUnetFixture();
  const lora = (seed: number): Lora =>
    loraFromSafetensors(
      parseSafetensors(makeLoraFile('kohya', base.layers, { seed }).bytes),
      `style-${seed}`,
    );
  const build = (l: Lora) => async () => {
    const m = OnnxModel.fromBytes(base.bytes);
    await mergeLorasIntoModel(m, 'unet', [{ lora: l, multiplier: 0.5 }]);
    const bytes = m.toBytes();
    return { bytes: bytes.byteLength, create: () => OnnxSession.create(bytes, { name: l.name }) };
  };
  const feeds = {
    sample: { type: 'float32' as const, data: randomArray(32, 1), dims: [1, 8, 2, 2] },
    encoder_hidden_states: { type: 'float32' as const, data: randomArray(18, 2), dims: [1, 3, 6] },
  };

  it('reuses merged sessions, evicts the least recently used past the budget, never a busy one', async () => {
    const size = (await build(lora(1))()).bytes;
    const cache = new MergedSessionCache(size * 2 + 10);
    const [a, b, c] = [lora(1), lora(2), lora(3)];
    const ka = mergeKey('unet', [{ lora: a, multiplier: 0.5 }]);
    const ha = await cache.acquire(ka, build(a));
    const outA = (await ha.session.run(feeds)).out_sample!.data;
    ha.release();
    const ha2 = await cache.acquire(ka, build(a));
    expect(ha2.session).toBe(ha.session);
    expect(cache.hits).toBe(1);
    // Keep A busy while B and C come in: A is evicted from the index but stays usable.
    const hb = await cache.acquire(mergeKey('unet', [{ lora: b, multiplier: 0.5 }]), build(b));
    hb.release();
    const hc = await cache.acquire(mergeKey('unet', [{ lora: c, multiplier: 0.5 }]), build(c));
    hc.release();
    expect(cache.size).toBe(2);
    expect(cache.has(ka)).toBe(false);
    expect((await ha2.session.run(feeds)).out_sample!.data).toEqual(outA);
    ha2.release();
    // Released after eviction → disposed: running it now fails.
    await new Promise((r) => setTimeout(r, 10));
    await expect(ha2.session.run(feeds)).rejects.toThrow();
    expect(cache.usedBytes).toBeLessThanOrEqual(cache.budgetBytes);
    // Erasure: every merge containing a given LoRA goes.
    expect(await cache.dropWhere((k) => k.includes('style-3@'))).toBe(1);
    expect(cache.size).toBe(1);
    await cache.clear();
    expect(cache.size).toBe(0);
  });

  it('keys are independent of LoRA order and include multipliers', () => {
    const [a, b] = [lora(4), lora(5)];
    expect(
      mergeKey('film', [
        { lora: a, multiplier: 0.95 },
        { lora: b, multiplier: 0.25 },
      ]),
    ).toBe(
      mergeKey('film', [
        { lora: b, multiplier: 0.25 },
        { lora: a, multiplier: 0.95 },
      ]),
    );
    expect(mergeKey('film', [{ lora: a, multiplier: 0.9 }])).not.toBe(
      mergeKey('film', [{ lora: a, multiplier: 0.95 }]),
    );
  });
});
