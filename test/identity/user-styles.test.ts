import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSafetensors, type TensorToWrite } from '../../core/lora/safetensors.ts';
import { sd15TextEncoderLayers, sd15UnetLayers } from '../../core/lora/sd15.ts';
import { UserStyleStore } from '../../core/lora/user-styles.ts';

/** A kohya LoRA over the given SD 1.5 layers (tiny values; shapes are what matter). */
function kohya(
  layers: { module: string; inFeatures: number; outFeatures: number; op: string }[],
  rank = 4,
  te = false,
) {
  const t: Record<string, TensorToWrite> = {};
  for (const l of layers) {
    const base = `lora_${te ? 'te' : 'unet'}_${l.module.replace(/\./g, '_')}`;
    const conv = l.op === 'Conv';
    t[`${base}.lora_down.weight`] = {
      dtype: 'F16',
      shape: conv ? [rank, l.inFeatures, 1, 1] : [rank, l.inFeatures],
      data: new Float32Array(rank * l.inFeatures),
    };
    t[`${base}.lora_up.weight`] = {
      dtype: 'F16',
      shape: conv ? [l.outFeatures, rank, 1, 1] : [l.outFeatures, rank],
      data: new Float32Array(rank * l.outFeatures),
    };
    t[`${base}.alpha`] = { dtype: 'F32', shape: [], data: new Float32Array([rank]) };
  }
  return encodeSafetensors(t);
}

describe('user style LoRA uploads', () => {
  let root: string;
  let store: UserStyleStore;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'fc-user-styles-'));
    store = new UserStyleStore(root, { maxBytes: 8 * 1024 * 1024, maxPerUser: 2, maxRank: 64 });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('accepts an SD 1.5 LoRA (UNet + text encoder), stores it per user, only its owner can use it', async () => {
    const unet = sd15UnetLayers('attention').slice(0, 16);
    const te = sd15TextEncoderLayers().slice(0, 4);
    const file = kohya(unet);
    const s = await store.add('telegram:42', file, { name: 'Watercolour', prompt: 'watercolor painting' });
    expect(s).toMatchObject({
      name: 'Watercolour',
      multiplier: 0.8,
      rank: 4,
      layers: { unet: 16, textEncoder: 0 },
    });
    const s2 = await store.add('telegram:42', kohya(te, 8, true), { name: 'Ink', multiplier: 0.4 });
    expect(s2.layers).toEqual({ unet: 0, textEncoder: 4 });
    expect((await store.list('telegram:42')).map((x) => x.name).sort()).toEqual(['Ink', 'Watercolour']);
    const got = await store.get('telegram:42', s.id);
    expect(got.file.startsWith(root)).toBe(true);
    expect(got.file).not.toContain('telegram'); // the user key never appears in a path
    // Another user sees nothing, with the same answer as for a missing id.
    await expect(store.get('discord:42', s.id)).rejects.toMatchObject({ code: 'unknown_user_style' });
    await expect(store.get('telegram:42', 'u-000000000000')).rejects.toMatchObject({
      code: 'unknown_user_style',
    });
    await expect(store.get('telegram:42', '../../etc')).rejects.toMatchObject({ code: 'unknown_user_style' });
    expect(await store.list('discord:42')).toEqual([]);
    // Per-user limit.
    await expect(store.add('telegram:42', file, { name: 'third' })).rejects.toMatchObject({
      code: 'too_many_styles',
    });
    await store.remove('telegram:42', s.id);
    expect(await store.list('telegram:42')).toHaveLength(1);
    expect(await store.forget('telegram:42')).toBe(1);
    expect(await readdir(root)).toEqual([]);
  });

  it('refuses files that are not SD 1.5 LoRAs, with the reason', async () => {
    const v = (bytes: Uint8Array) => () => store.validate(bytes, 'up');
    expect(v(new Uint8Array(9 * 1024 * 1024))).toThrow(/9.0 MB; the limit is 8 MB/);
    expect(v(new TextEncoder().encode('PK\u0003\u0004 this is a zip'))).toThrow(
      /not a valid .safetensors file/,
    );
    // SDXL: its attention blocks are 640/1280 wide where SD 1.5 has 320 at down_blocks.0... and cross-attn 2048.
    const xl = sd15UnetLayers('attention')
      .slice(0, 8)
      .map((l) => ({ ...l, inFeatures: l.inFeatures === 768 ? 2048 : l.inFeatures }));
    expect(v(kohya(xl))).toThrow(/made for a different base model/);
    const te2 = encodeSafetensors({
      'lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight': {
        dtype: 'F32',
        shape: [4, 1280],
        data: new Float32Array(5120),
      },
      'lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight': {
        dtype: 'F32',
        shape: [1280, 4],
        data: new Float32Array(5120),
      },
    });
    expect(v(te2)).toThrow(/made for SDXL/);
    const ldm = kohya([
      { module: 'input_blocks.1.0.in_layers.2', inFeatures: 320, outFeatures: 320, op: 'MatMul' },
    ]);
    expect(v(ldm)).toThrow(/None of the 1 layers of this LoRA is an SD 1.5 layer/);
    expect(v(kohya(sd15UnetLayers('attention').slice(0, 2), 128))).toThrow(/rank 128, above the limit 64/);
  });
});
