import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../base/errors.ts';
import { parseLoraKey } from '../../core/lora/keys.ts';
import { loraFromSafetensors } from '../../core/lora/lora.ts';
import { encodeSafetensors, parseSafetensors, readSafetensors } from '../../core/lora/safetensors.ts';

/** A safetensors file with a hand-written header (to build malformed ones). */
function withHeader(header: unknown, dataBytes: number, rawHeader?: string): Uint8Array {
  const json = new TextEncoder().encode(rawHeader ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

function refusal(buf: Uint8Array): string {
  try {
    parseSafetensors(buf, 'x.safetensors');
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).code).toBe('bad_safetensors');
    return (e as Error).message;
  }
  throw new Error('the file was accepted');
}

describe('safetensors reader', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('round-trips float32 and float16 tensors and metadata', () => {
    const a = new Float32Array([1, -2.5, 3.25, 0.125]);
    const bytes = encodeSafetensors(
      { a: { dtype: 'F32', shape: [2, 2], data: a }, b: { dtype: 'F16', shape: [4], data: a } },
      { ss_network_alpha: '8' },
    );
    const f = parseSafetensors(bytes);
    expect(f.metadata).toEqual({ ss_network_alpha: '8' });
    expect([...f.float32('a')]).toEqual([...a]);
    expect([...f.float32('b')]).toEqual([...a]); // exactly representable in half
    expect(f.tensors.get('a')!.shape).toEqual([2, 2]);
  });

  it('refuses malformed files with the reason', () => {
    expect(refusal(new Uint8Array(4))).toMatch(/fewer than the 8-byte header length/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 10n ** 12n, true);
    expect(refusal(huge)).toMatch(/header claims 1000000000000 bytes/);
    const short = new Uint8Array(16);
    new DataView(short.buffer).setBigUint64(0, 100n, true);
    expect(refusal(short)).toMatch(/only 8 after the length/);
    expect(refusal(withHeader(null, 0, '{"a": '))).toMatch(/not UTF-8 JSON/);
    expect(refusal(withHeader([1], 0))).toMatch(/not a JSON object/);
    expect(refusal(withHeader({ a: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, 1))).toMatch(
      /dtype "Q4"/,
    );
    expect(refusal(withHeader({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4))).toMatch(
      /invalid shape/,
    );
    expect(refusal(withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 4))).toMatch(
      /outside the 4-byte data section/,
    );
    expect(refusal(withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4))).toMatch(
      /\(8 bytes\) but spans 4 bytes/,
    );
    expect(
      refusal(
        withHeader(
          {
            a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
            b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
          },
          8,
        ),
      ),
    ).toMatch(/overlaps/);
    expect(refusal(withHeader({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8))).toMatch(
      /gap before/,
    );
    expect(refusal(withHeader({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8))).toMatch(
      /4 trailing bytes/,
    );
    expect(refusal(withHeader({ __metadata__: { a: 1 } }, 0))).toMatch(/metadata "a" is not a string/);
  });

  it('refuses an oversized file before reading it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fc-st-'));
    dirs.push(dir);
    const f = path.join(dir, 'big.safetensors');
    await writeFile(
      f,
      encodeSafetensors({ a: { dtype: 'F32', shape: [1000], data: new Float32Array(1000) } }),
    );
    await expect(readSafetensors(f, 1000)).rejects.toMatchObject({ code: 'lora_too_large' });
    await expect(readSafetensors(path.join(dir, 'none.safetensors'), 1000)).rejects.toMatchObject({
      code: 'lora_missing',
    });
    expect((await readSafetensors(f, 10_000)).tensors.size).toBe(1);
  });
});

describe('LoRA keys', () => {
  it('parses kohya, PEFT, diffusers and attention-processor spellings to one flat id', () => {
    const flat = 'down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q';
    const cases: [string, string, string, string][] = [
      [`lora_unet_${flat}.lora_down.weight`, 'unet', flat, 'down'],
      [`lora_unet_${flat}.alpha`, 'unet', flat, 'alpha'],
      ['unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_B.weight', 'unet', flat, 'up'],
      [
        'base_model.model.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.default.weight',
        'unet',
        flat,
        'down',
      ],
      ['unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora.up.weight', 'unet', flat, 'up'],
      [
        'down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_q_lora.down.weight',
        'unet',
        flat,
        'down',
      ],
      [
        'mid_block.attentions.0.transformer_blocks.0.attn2.processor.to_out_lora.up.weight',
        'unet',
        'mid_block_attentions_0_transformer_blocks_0_attn2_to_out_0',
        'up',
      ],
      [
        'lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight',
        'text_encoder',
        'text_model_encoder_layers_0_self_attn_q_proj',
        'up',
      ],
      [
        'text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_A.weight',
        'text_encoder',
        'text_model_encoder_layers_0_self_attn_q_proj',
        'down',
      ],
    ];
    for (const [key, component, f, part] of cases) {
      expect(parseLoraKey(key), key).toMatchObject({ component, flat: f, part });
    }
    // Original-SD (LDM) block names map to the same diffusers layers.
    expect(
      parseLoraKey('lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_up.weight'),
    ).toMatchObject({
      flat: 'down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k',
    });
    expect(parseLoraKey('lora_unet_output_blocks_11_1_proj_out.lora_down.weight')).toMatchObject({
      flat: 'up_blocks_3_attentions_2_proj_out',
    });
    expect(parseLoraKey('lora_unet_middle_block_1_transformer_blocks_0_ff_net_2.alpha')).toMatchObject({
      flat: 'mid_block_attentions_0_transformer_blocks_0_ff_net_2',
    });
    expect(parseLoraKey('lora_unet_input_blocks_1_0_in_layers_2.lora_up.weight')).toMatchObject({
      flat: 'input_blocks_1_0_in_layers_2',
    });
    expect(parseLoraKey('lora_unet_x.hada_w1_a')).toBeUndefined();
    expect(parseLoraKey('model.diffusion_model.input_blocks.0.0.weight')).toBeUndefined();
  });

  it('refuses incomplete or inconsistent LoRAs and reports unknown keys', () => {
    const d = new Float32Array(8);
    const only = parseSafetensors(
      encodeSafetensors({ 'lora_unet_a.lora_down.weight': { dtype: 'F32', shape: [2, 4], data: d } }),
    );
    expect(() => loraFromSafetensors(only, 'half')).toThrow(/has a down matrix but no up/);
    const badRank = parseSafetensors(
      encodeSafetensors({
        'lora_unet_a.lora_down.weight': { dtype: 'F32', shape: [2, 4], data: d },
        'lora_unet_a.lora_up.weight': { dtype: 'F32', shape: [8, 1], data: d },
      }),
    );
    expect(() => loraFromSafetensors(badRank, 'rank')).toThrow(/do not form a low-rank pair/);
    const none = parseSafetensors(encodeSafetensors({ weight: { dtype: 'F32', shape: [8], data: d } }));
    expect(() => loraFromSafetensors(none, 'none')).toThrow(/has no LoRA layers/);
    const mixed = parseSafetensors(
      encodeSafetensors({
        'lora_unet_a.lora_down.weight': { dtype: 'F32', shape: [2, 4], data: d },
        'lora_unet_a.lora_up.weight': { dtype: 'F32', shape: [4, 2], data: d },
        'lora_unet_b.hada_w1_a': { dtype: 'F32', shape: [8], data: d },
      }),
    );
    const l = loraFromSafetensors(mixed, 'mixed', { defaultAlpha: 32 });
    expect(l.unsupportedKeys).toEqual(['lora_unet_b.hada_w1_a']);
    expect(l.modules[0]).toMatchObject({ rank: 2, alpha: 32, outFeatures: 4, inFeatures: 4 });
    expect(() => loraFromSafetensors(mixed, 'r', { maxRank: 1 })).toThrow(/rank 2, above the limit 1/);
  });
});
