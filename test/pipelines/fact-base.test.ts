/**
 * FACT with style LoRAs: the generate job builds "the base folder with FACT's UNet" (links only)
 * so that style LoRAs merge into the FACT UNet. Checked on fixture models: the folder is a
 * complete export whose UNet is FACT's (it needs face tokens), face tokens change the images,
 * and a LoRA merged into it changes them again while the face-token inputs stay.
 * (FACT through the whole job needs FACT's manifests to carry digests, which only a checked
 * export can give; see docs/pipelines.md.)
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SdPipeline } from '../../core/diffusion/index.ts';
import { SdModelFolder } from '../../core/diffusion/model-folder.ts';
import { factUnetFeeds } from '../../core/fact/encoder.ts';
import { loraFromSafetensors } from '../../core/lora/lora.ts';
import { encodeSafetensors, parseSafetensors, type TensorToWrite } from '../../core/lora/safetensors.ts';
import { sd15UnetLayers } from '../../core/lora/sd15.ts';
import { mergedFolders } from '../../core/lora/user-models.ts';
import { factBaseFolder } from '../../core/portrait/models.ts';
import { writeFixtureSdModel } from '../../models/fixtures/sd.ts';

let tmp: string;
let base: string;
let factUnet: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'fc-factbase-'));
  base = path.join(tmp, 'base');
  writeFixtureSdModel(base);
  // A FACT-shaped UNet (face_tokens, adapter_scale) with one SD 1.5 layer for LoRAs, as a model store file.
  const fact = path.join(tmp, 'fact-export');
  writeFixtureSdModel(fact, {
    loraProbe: 0.1,
    extraInputs: [
      { name: 'face_tokens', shape: ['batch', 16, 768] },
      { name: 'adapter_scale', shape: [1] },
    ],
  });
  factUnet = path.join(fact, 'unet', 'model.onnx');
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const tokens = (v: number) => new Float32Array(16 * 768).fill(v);

async function generate(dir: string, scale: number | undefined) {
  const pipe = SdPipeline.open(dir);
  try {
    const r = await pipe.generate(
      { prompt: 'a portrait', steps: 4, guidanceScale: 7, sampler: 'euler', seed: 3, width: 64, height: 64 },
      scale === undefined
        ? {}
        : {
            unetInputs: ({ images }) =>
              factUnetFeeds({ cond: tokens(0.2), uncond: tokens(0), images, guidance: true, scale }),
          },
    );
    return Buffer.from(r.images[0].png);
  } finally {
    await pipe.close();
  }
}

describe('FACT base folder', () => {
  it('is a complete export whose UNet is FACT’s; face tokens change the images', async () => {
    const dir = await factBaseFolder(base, factUnet, tmp);
    expect(SdModelFolder.problem(dir)).toBeUndefined();
    expect(realpathSync(path.join(dir, 'unet', 'model.onnx'))).toBe(realpathSync(factUnet));
    expect(realpathSync(path.join(dir, 'text_encoder', 'model.onnx'))).toBe(
      realpathSync(path.join(base, 'text_encoder', 'model.onnx')),
    );
    expect(await factBaseFolder(base, factUnet, tmp)).toBe(dir); // reused
    // The FACT UNet needs its face tokens: without them the run fails naming the input.
    await expect(generate(dir, undefined)).rejects.toMatchObject({ code: 'model_input' });
    expect((await generate(dir, 0.5)).equals(await generate(dir, 0))).toBe(false);
  });

  it('style LoRAs merge into the FACT UNet, which keeps its face-token inputs', async () => {
    const dir = await factBaseFolder(base, factUnet, tmp);
    const t: Record<string, TensorToWrite> = {};
    const l = sd15UnetLayers('attention')[0]!;
    const k = `lora_unet_${l.module.replace(/\./g, '_')}`;
    t[`${k}.lora_down.weight`] = {
      dtype: 'F32',
      shape: [4, 320],
      data: new Float32Array(4 * 320).fill(0.02),
    };
    t[`${k}.lora_up.weight`] = { dtype: 'F32', shape: [320, 4], data: new Float32Array(320 * 4).fill(0.02) };
    const style = loraFromSafetensors(parseSafetensors(encodeSafetensors(t)), 'style:test');
    const merged = (await mergedFolders(tmp).get(dir, [{ lora: style, multiplier: 0.5 }])).dir;
    expect(SdModelFolder.problem(merged)).toBeUndefined();
    const withLora = await generate(merged, 0.5);
    expect(withLora.equals(await generate(dir, 0.5))).toBe(false);
  });
});
