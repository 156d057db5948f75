import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoraLibrary } from '../../core/lora/library.ts';
import { loadStylePack } from '../../core/styles/catalog.ts';
import type { StylePack } from '../../core/styles/pack.ts';
import { planGeneration, SAMPLER_DEFAULTS } from '../../core/styles/plan.ts';
import { QUALITY_WORDS } from '../../core/styles/prompt.ts';
import { buildUnetFixture, makeLoraFile } from '../../models/fixtures/lora-fixtures.ts';

describe('generation plan from identity + style pack', () => {
  let dir: string;
  let pack: StylePack;
  let faceFile: string;
  const library = new LoraLibrary(64 * 1024 * 1024, { maxBytes: 16 * 1024 * 1024 });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fc-plan-'));
    const layers = buildUnetFixture().layers;
    const packDir = path.join(dir, 'snow');
    await mkdir(packDir);
    await writeFile(path.join(packDir, 'snow.safetensors'), makeLoraFile('kohya', layers, { seed: 1 }).bytes);
    await writeFile(
      path.join(packDir, 'style.json'),
      JSON.stringify({
        id: 'snow',
        name: { en: 'Snow' },
        base: 'sd15-film',
        loras: [{ file: 'snow.safetensors', multiplier: 0.4 }],
        humanMultiplier: 0.9,
        prompt: 'snowy forest',
        sampler: { steps: 30 },
        licence: { spdx: 'Apache-2.0' },
      }),
    );
    const r = await loadStylePack(packDir, { maxLoraBytes: 1 << 24 });
    if (!('pack' in r)) throw new Error(r.problem.message);
    pack = r.pack;
    faceFile = path.join(dir, 'face.safetensors');
    await writeFile(faceFile, makeLoraFile('diffusers-attn', layers, { seed: 2, rank: 4 }).bytes);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('face-LoRA identity: face LoRA at the human multiplier, style LoRA at its own, FaceChain sampler', async () => {
    const plan = await planGeneration(
      { kind: 'lora', loraFile: faceFile, gender: 'female', ageBand: 'adult' },
      pack,
      { library, defaultAdapterScale: 0.5 },
    );
    expect(plan.loras.map((u) => [u.lora.name.split(':')[0], u.multiplier])).toEqual([
      ['face', 0.9],
      ['style', 0.4],
    ]);
    expect(plan.prompt).toBe(`(<fcsks>:10), a beautiful woman, snowy forest, ${QUALITY_WORDS}`);
    // FaceChain's way: the engine reads "(<fcsks>:10)" and "(nsfw:2)" as characters.
    expect(plan.promptWeighting).toBe('plain');
    expect(plan.sampler).toEqual({ ...SAMPLER_DEFAULTS.lora, steps: 30 });
    expect(plan.adapterScale).toBeUndefined();
    const again = await planGeneration(
      { kind: 'lora', loraFile: faceFile, gender: 'female', ageBand: 'adult' },
      pack,
      { library, defaultAdapterScale: 0.5 },
    );
    expect(again.loras[0]!.lora).toBe(plan.loras[0]!.lora); // decoded once
    expect(again.cacheKey).toBe(plan.cacheKey);
  });

  it('FACT identity: no face LoRA, adapter scale, PNDM 50 steps unless overridden; user style on top', async () => {
    const userFile = path.join(dir, 'user.safetensors');
    await writeFile(userFile, makeLoraFile('peft', buildUnetFixture().layers, { seed: 3 }).bytes);
    const plan = await planGeneration(
      { kind: 'fact', gender: 'male', ageBand: 'adult', age: 33 },
      pack,
      {
        library,
        defaultAdapterScale: 0.5,
        userStyle: { id: 'u-0123456789ab', file: userFile, multiplier: 0.8, prompt: 'ink wash' },
      },
      { adapterScale: 0.7, styleMultiplier: 0.2, sampler: { cfg: 5, steps: undefined } },
    );
    expect(plan.mode).toBe('fact');
    expect(plan.adapterScale).toBe(0.7);
    expect(plan.loras.map((u) => u.multiplier)).toEqual([0.2, 0.8]);
    expect(plan.prompt).toBe(`a handsome man, 35-year-old, snowy forest, ink wash, ${QUALITY_WORDS}`);
    expect(plan.sampler).toEqual({ ...SAMPLER_DEFAULTS.fact, steps: 30, cfg: 5 });
    expect(plan.promptWeighting).toBe('plain');
    // A pack that asks for A1111 weighting gets it, user words included.
    const a1111 = await planGeneration(
      { kind: 'fact', gender: 'female', ageBand: 'adult' },
      { ...pack, weighting: 'a1111' },
      { library, defaultAdapterScale: 0.5 },
      { extraPrompt: '(smile:1.2)' },
    );
    expect(a1111.promptWeighting).toBe('a1111');
    expect(a1111.prompt).toContain('snowy forest, (smile:1.2)');
    await expect(
      planGeneration(
        { kind: 'fact', gender: 'male', ageBand: 'adult' },
        pack,
        { library, defaultAdapterScale: 0.5 },
        { adapterScale: 3 },
      ),
    ).rejects.toThrow(/Adapter scale 3 is out of range/);
  });
});

describe('decoded LoRA library', () => {
  it('keeps decoded LoRAs within its byte budget, least recently used out first, and re-reads replaced files', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fc-lib-'));
    try {
      const layers = buildUnetFixture().layers;
      const files = [1, 2, 3].map((i) => path.join(dir, `${i}.safetensors`));
      for (const [i, f] of files.entries())
        await writeFile(f, makeLoraFile('kohya', layers, { seed: i + 1 }).bytes);
      const one = makeLoraFile('kohya', layers, { seed: 1 });
      const perLora = one.layers.reduce((a, l) => a + (l.down.byteLength + l.up.byteLength), 0);
      const lib = new LoraLibrary(perLora * 2, { maxBytes: 1 << 20 });
      const a = await lib.get(files[0]!);
      await lib.get(files[1]!);
      expect(await lib.get(files[0]!)).toBe(a); // hit, and now most recent
      await lib.get(files[2]!); // evicts files[1]
      expect(lib.usedBytes).toBeLessThanOrEqual(perLora * 2);
      expect(await lib.get(files[0]!)).toBe(a);
      await writeFile(files[0]!, makeLoraFile('kohya', layers, { seed: 9 }).bytes);
      const { utimes } = await import('node:fs/promises');
      await utimes(files[0]!, new Date(), new Date(Date.now() + 5000));
      expect(await lib.get(files[0]!)).not.toBe(a);
      await expect(lib.get(path.join(dir, 'missing.safetensors'))).rejects.toMatchObject({
        code: 'lora_missing',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
