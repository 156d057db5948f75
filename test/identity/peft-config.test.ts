/**
 * PEFT LoRAs keep their scale outside the weights: adapter_config.json next to the file (PEFT's
 * save_pretrained) or lora_adapter_metadata in the safetensors header (diffusers'
 * save_lora_weights). Read it, per layer with rank_pattern / alpha_pattern as PEFT matches them,
 * instead of merging at scale 1.
 */
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoraLibrary } from '../../core/lora/library.ts';
import { type Lora, loadLora } from '../../core/lora/lora.ts';
import { matchLoras } from '../../core/lora/match.ts';
import { parsePeftConfig, peftRankAlpha } from '../../core/lora/peft-config.ts';
import { encodeSafetensors, type TensorToWrite } from '../../core/lora/safetensors.ts';
import { buildUnetFixture, makeLoraFile } from '../../models/fixtures/lora-fixtures.ts';
import { OnnxModel } from '../../models/onnx-edit.ts';

const MAX = 1 << 24;
const layers = buildUnetFixture().layers;
const Q = 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q';
const K2 = 'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fc-peft-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A PEFT/diffusers-format LoRA folder: the weights, and adapter_config.json when given. */
async function peftFolder(
  name: string,
  bytes: Uint8Array,
  adapterConfig?: Record<string, unknown>,
  file = 'adapter_model.safetensors',
): Promise<string> {
  const d = path.join(dir, name);
  await rm(d, { recursive: true, force: true });
  await mkdir(d, { recursive: true });
  await writeFile(path.join(d, file), bytes);
  if (adapterConfig) await writeFile(path.join(d, 'adapter_config.json'), JSON.stringify(adapterConfig));
  return path.join(d, file);
}

const scaleOf = (l: Lora, module: string): number => {
  const m = l.modules.find((x) => x.flat === module.replace(/\./g, '_'))!;
  return m.alpha / m.rank;
};

/** FaceChain's training settings: rank 4, alpha 32 (PEFT's adapter_config.json as it writes it). */
const FACECHAIN_CONFIG = {
  peft_type: 'LORA',
  r: 4,
  lora_alpha: 32,
  target_modules: ['to_q', 'to_k', 'to_v', 'to_out.0'],
  rank_pattern: {},
  alpha_pattern: {},
  use_rslora: false,
  use_dora: false,
};

describe('PEFT adapter config', () => {
  it('scales every layer by lora_alpha / r from adapter_config.json, not 1', async () => {
    const bytes = makeLoraFile('peft', layers, { rank: 4, seed: 5 }).bytes;
    const withConfig = await loadLora(await peftFolder('cfg', bytes, FACECHAIN_CONFIG), { maxBytes: MAX });
    const without = await loadLora(await peftFolder('nocfg', bytes), { maxBytes: MAX });
    for (const l of layers) {
      expect(scaleOf(withConfig, l.module), l.module).toBe(8);
      expect(scaleOf(without, l.module), l.module).toBe(1);
    }
    // What the merge uses: multiplier × alpha / rank, for every layer of the model it adapts.
    const targets = OnnxModel.fromBytes(buildUnetFixture().bytes).weightTargets();
    const report = matchLoras(targets, 'unet', [{ lora: withConfig, multiplier: 0.95 }]);
    expect(report.matched).toHaveLength(layers.length);
    expect(new Set(report.matched.map((m) => m.scale))).toEqual(new Set([0.95 * 8]));
  });

  it('applies rank_pattern and alpha_pattern per layer as PEFT matches them ((.*\\.)?(key)$, first key wins)', async () => {
    // to_q at rank 4, attn2.to_k at rank 8, the rest at rank 2.
    const tensors: Record<string, TensorToWrite> = {};
    for (const l of layers) {
      const r = l.module === Q ? 4 : l.module === K2 ? 8 : 2;
      const downShape = l.conv ? [r, l.inFeatures, 1, 1] : [r, l.inFeatures];
      const upShape = l.conv ? [l.outFeatures, r, 1, 1] : [l.outFeatures, r];
      tensors[`unet.${l.module}.lora_A.weight`] = {
        dtype: 'F32',
        shape: downShape,
        data: new Float32Array(r * l.inFeatures).fill(0.01),
      };
      tensors[`unet.${l.module}.lora_B.weight`] = {
        dtype: 'F32',
        shape: upShape,
        data: new Float32Array(l.outFeatures * r).fill(0.02),
      };
    }
    const config = {
      r: 2,
      lora_alpha: 4,
      rank_pattern: { 'attn1.to_q': 4, 'attn2\\.to_k': 8, to_k: 2 },
      alpha_pattern: { 'attn1.to_q': 2, o_v: 100, 'attn2.to_v': 6 },
    };
    const l = await loadLora(await peftFolder('patterns', encodeSafetensors(tensors), config), {
      maxBytes: MAX,
    });
    expect(scaleOf(l, Q)).toBe(2 / 4); // both patterns
    expect(scaleOf(l, K2)).toBe(4 / 8); // the first matching rank key (8), not "to_k" (2); alpha from lora_alpha
    // "o_v" does not match "...to_v" (a pattern matches whole dotted parts); "attn2.to_v" does.
    expect(scaleOf(l, 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_v')).toBe(4 / 2);
    expect(scaleOf(l, 'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_v')).toBe(6 / 2);
    expect(peftRankAlpha(parsePeftConfig(config, 'x'), 'a.attn1.to_k')).toEqual({ rank: 2, alpha: 4 });
    expect(peftRankAlpha(parsePeftConfig(config, 'x'), 'attn2.to_k')).toEqual({ rank: 8, alpha: 4 });
  });

  it('refuses a config whose rank disagrees with the weights, DoRA, and malformed files', async () => {
    const bytes = makeLoraFile('peft', layers, { rank: 4, seed: 5 }).bytes;
    await expect(
      loadLora(await peftFolder('rank8', bytes, { r: 8, lora_alpha: 8 }), { maxBytes: MAX }),
    ).rejects.toThrow(
      /adapter_config\.json gives layer unet\.down_blocks\.0\.attentions\.0\.proj_in rank 8, but its matrices have rank 4/,
    );
    await expect(
      loadLora(await peftFolder('dora', bytes, { ...FACECHAIN_CONFIG, use_dora: true }), { maxBytes: MAX }),
    ).rejects.toThrow(/DoRA adapters \(use_dora\) are not supported/);
    await expect(
      loadLora(await peftFolder('ia3', bytes, { peft_type: 'IA3', r: 4 }), { maxBytes: MAX }),
    ).rejects.toThrow(/peft_type "IA3" is not LoRA/);
    await expect(
      loadLora(await peftFolder('alpha0', bytes, { r: 4, lora_alpha: 0 }), { maxBytes: MAX }),
    ).rejects.toThrow(/"lora_alpha" must be a positive number/);
    await expect(
      loadLora(await peftFolder('regex', bytes, { r: 4, alpha_pattern: { 'to_q(': 2 } }), { maxBytes: MAX }),
    ).rejects.toThrow(/not a regular expression: to_q\(/);
    const f = await peftFolder('json', bytes, FACECHAIN_CONFIG);
    await writeFile(path.join(path.dirname(f), 'adapter_config.json'), '{"r": ');
    await expect(loadLora(f, { maxBytes: MAX })).rejects.toMatchObject({ code: 'bad_lora' });
  });

  it('use_rslora scales by lora_alpha / sqrt(r)', async () => {
    const bytes = makeLoraFile('peft', layers, { rank: 4, seed: 5 }).bytes;
    const l = await loadLora(await peftFolder('rslora', bytes, { ...FACECHAIN_CONFIG, use_rslora: true }), {
      maxBytes: MAX,
    });
    expect(scaleOf(l, Q)).toBeCloseTo(32 / Math.sqrt(4), 12);
  });

  it("reads diffusers' lora_adapter_metadata in the file first; kohya files keep their own alpha", async () => {
    const { bytes, layers: made } = makeLoraFile('peft', layers, { rank: 4, seed: 5 });
    // Re-encode with diffusers' metadata (per model, prefixed): unet at alpha 16.
    const tensors: Record<string, TensorToWrite> = {};
    for (const l of made) {
      const conv = layers.find((x) => x.module === l.module)!.conv;
      tensors[`unet.${l.module}.lora_A.weight`] = {
        dtype: 'F32',
        shape: conv ? [4, l.inFeatures, 1, 1] : [4, l.inFeatures],
        data: l.down,
      };
      tensors[`unet.${l.module}.lora_B.weight`] = {
        dtype: 'F32',
        shape: conv ? [l.outFeatures, 4, 1, 1] : [l.outFeatures, 4],
        data: l.up,
      };
    }
    const meta = {
      format: 'pt',
      lora_adapter_metadata: JSON.stringify({ 'unet.r': 4, 'unet.lora_alpha': 16 }),
    };
    const inFile = encodeSafetensors(tensors, meta);
    expect(inFile.byteLength).toBeGreaterThan(bytes.byteLength);
    const l = await loadLora(await peftFolder('meta', inFile, FACECHAIN_CONFIG), { maxBytes: MAX });
    expect(scaleOf(l, Q)).toBe(4); // the file's own metadata, not the adapter_config.json beside it

    const kohya = makeLoraFile('kohya', layers, { rank: 4, alpha: 2, seed: 5 }).bytes;
    const k = await loadLora(await peftFolder('kohya', kohya, FACECHAIN_CONFIG, 'style.safetensors'), {
      maxBytes: MAX,
    });
    expect(scaleOf(k, Q)).toBe(2 / 4);
  });

  it('the decoded-LoRA library reads the file again when its adapter_config.json changes', async () => {
    const bytes = makeLoraFile('peft', layers, { rank: 4, seed: 5 }).bytes;
    const file = await peftFolder('library', bytes, FACECHAIN_CONFIG);
    const lib = new LoraLibrary(MAX, { maxBytes: MAX });
    expect(scaleOf(await lib.get(file), Q)).toBe(8);
    const cfg = path.join(path.dirname(file), 'adapter_config.json');
    await writeFile(cfg, JSON.stringify({ ...FACECHAIN_CONFIG, lora_alpha: 4 }));
    const later = new Date(Date.now() + 5000);
    await utimes(cfg, later, later);
    expect(scaleOf(await lib.get(file), Q)).toBe(1);
  });
});
