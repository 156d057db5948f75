import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifests, parseManifest } from '../../models/manifest.ts';
import { ModelStore } from '../../models/store.ts';

describe('manifests of real SD weights', () => {
  const all = loadManifests();

  for (const id of ['sd15-film', 'sd15-majicmix-realistic-v6', 'controlnet-openpose', 'controlnet-canny']) {
    it(`${id} is optional, unverified, and carries no invented digest`, () => {
      const m = all.get(id)!;
      expect(m).toBeDefined();
      expect(m.optional).toBe(true);
      expect(m.verified).toBe(false);
      for (const f of m.files) expect(f.sha256).toBeUndefined();
    });
  }

  it('the SD base manifests list the whole diffusers ONNX layout', () => {
    const names = all.get('sd15-film')!.files.map((f) => f.name);
    for (const f of [
      'model_index.json',
      'unet/model.onnx',
      'text_encoder/model.onnx',
      'vae_decoder/model.onnx',
      'tokenizer/vocab.json',
      'scheduler/scheduler_config.json',
    ])
      expect(names).toContain(f);
  });

  it('verified manifests still need sha256 and size', () => {
    const base = {
      id: 'x',
      task: 't',
      files: [{ name: 'a.onnx', source: 'file:a.onnx' }],
      licence: { spdx: 'MIT' },
    };
    expect(() => parseManifest(base, 'x.json')).toThrow(/sha256 and size unless/);
    expect(parseManifest({ ...base, verified: false }, 'x.json').verified).toBe(false);
  });

  it('the store refuses to fetch or trust a file whose manifest has no digest yet', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fc-store-'));
    try {
      const store = new ModelStore(dir, all);
      await expect(store.fetch(['controlnet-canny'])).rejects.toMatchObject({ code: 'manifest_incomplete' });
      await expect(store.path('controlnet-canny')).rejects.toMatchObject({ code: 'model_missing' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
