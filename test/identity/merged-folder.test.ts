import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loraFromSafetensors } from '../../core/lora/lora.ts';
import { MergedFolderCache } from '../../core/lora/merged-folder.ts';
import { encodeSafetensors, parseSafetensors } from '../../core/lora/safetensors.ts';
import {
  buildTextEncoderFixture,
  buildUnetFixture,
  makeLoraFile,
  randomArray,
  referenceMerge,
} from '../../models/fixtures/lora-fixtures.ts';
import { OnnxSession } from '../../models/onnx.ts';
import { OnnxModel } from '../../models/onnx-edit.ts';

describe('merged model folders on disk', () => {
  let tmp: string;
  let base: string;
  const unet = buildUnetFixture();
  const te = buildTextEncoderFixture();
  const uFile = makeLoraFile('kohya', unet.layers, { seed: 31 });
  const tFile = makeLoraFile('kohya', te.layers, { seed: 32, component: 'text_encoder' });
  const both = () => {
    const t: Parameters<typeof encodeSafetensors>[0] = {};
    for (const f of [parseSafetensors(uFile.bytes), parseSafetensors(tFile.bytes)])
      for (const [k, e] of f.tensors) t[k] = { dtype: 'F32', shape: e.shape, data: f.float32(k) };
    return loraFromSafetensors(parseSafetensors(encodeSafetensors(t)), 'style:both');
  };

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'fc-merged-'));
    base = path.join(tmp, 'base');
    // A diffusers-style folder: UNet with external weights, text encoder, and files to link.
    await OnnxModel.fromBytes(unet.bytes).save(path.join(base, 'unet'), 64);
    await writeFile(path.join(base, 'unet', 'config.json'), '{}');
    await mkdir(path.join(base, 'text_encoder'), { recursive: true });
    await writeFile(path.join(base, 'text_encoder', 'model.onnx'), te.bytes);
    await mkdir(path.join(base, 'tokenizer'));
    await writeFile(path.join(base, 'tokenizer', 'vocab.json'), '{}');
    await writeFile(path.join(base, 'model_index.json'), '{}');
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('merges UNet and text encoder, links the rest, reuses the folder, forgets on request', async () => {
    const cache = new MergedFolderCache(path.join(tmp, 'cache'), 1 << 30);
    const lora = both();
    const m = await cache.get(base, [{ lora, multiplier: 0.7 }]);
    expect(m.cached).toBe(false);
    expect(m.reports.unet).toMatchObject({ matched: unet.layers.length, unmatched: [] });
    expect(m.reports.text_encoder).toMatchObject({ matched: 2 });
    expect(lstatSync(path.join(m.dir, 'tokenizer')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(path.join(m.dir, 'model_index.json'))).toBe(path.join(base, 'model_index.json'));
    expect(lstatSync(path.join(m.dir, 'unet', 'config.json')).isSymbolicLink()).toBe(true);
    expect(lstatSync(path.join(m.dir, 'unet', 'model.onnx')).isSymbolicLink()).toBe(false);
    expect(existsSync(path.join(m.dir, 'unet', 'weights.pb'))).toBe(true);

    // The merged UNet computes what the independently merged reference computes.
    const override = new Map(
      unet.layers.map((l) => [
        l.initializer,
        referenceMerge(unet.weights.get(l.initializer)!, l, [
          { l: uFile.layers.find((x) => x.module === l.module)!, multiplier: 0.7 },
        ]),
      ]),
    );
    const feeds = {
      sample: { type: 'float32' as const, data: randomArray(32, 1), dims: [1, 8, 2, 2] },
      encoder_hidden_states: { type: 'float32' as const, data: randomArray(18, 2), dims: [1, 3, 6] },
    };
    const s1 = await OnnxSession.create(path.join(m.dir, 'unet', 'model.onnx'));
    const s2 = await OnnxSession.create(buildUnetFixture({ override }).bytes);
    const a = (await s1.run(feeds)).out_sample!.data as Float32Array;
    const b = (await s2.run(feeds)).out_sample!.data as Float32Array;
    await s1.dispose();
    await s2.dispose();
    let d = 0;
    for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
    expect(d).toBeLessThan(1e-4);

    const again = await cache.get(base, [{ lora, multiplier: 0.7 }]);
    expect(again).toMatchObject({ dir: m.dir, cached: true });
    const other = await cache.get(base, [{ lora, multiplier: 0.3 }]);
    expect(other.dir).not.toBe(m.dir);
    expect(await cache.forget((name) => name === 'style:both')).toBe(2);
    expect(existsSync(m.dir)).toBe(false);
  });

  it('evicts the least recently used folder past the disk budget', async () => {
    const cache = new MergedFolderCache(path.join(tmp, 'small'), 1); // everything but the newest goes
    const lora = loraFromSafetensors(parseSafetensors(uFile.bytes), 'u');
    const first = await cache.get(base, [{ lora, multiplier: 0.1 }]);
    const second = await cache.get(base, [{ lora, multiplier: 0.2 }]);
    expect(existsSync(first.dir)).toBe(false);
    expect(existsSync(second.dir)).toBe(true);
    await expect(cache.get(path.join(tmp, 'nowhere'), [{ lora, multiplier: 1 }])).rejects.toThrow(
      /no unet\/model.onnx/,
    );
  });
});
