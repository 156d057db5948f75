import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSafetensors } from '../../core/lora/safetensors.ts';
import { BUILTIN_STYLES_DIR, loadStyleCatalog } from '../../core/styles/catalog.ts';
import { convertFacechainStyle, splitName, writeImportedStyle } from '../../core/styles/import-facechain.ts';
import { buildPrompt, frequentTags, NEGATIVE_PROMPT, QUALITY_WORDS } from '../../core/styles/prompt.ts';

const MAX = 16 * 1024 * 1024;
// A 1x1 PNG (signature + IHDR + IDAT + IEND), enough for the magic-byte check.
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
);

function loraBytes(): Uint8Array {
  return encodeSafetensors({
    'lora_unet_mid_block_attentions_0_proj_in.lora_down.weight': {
      dtype: 'F16',
      shape: [2, 4],
      data: new Float32Array(8),
    },
    'lora_unet_mid_block_attentions_0_proj_in.lora_up.weight': {
      dtype: 'F16',
      shape: [4, 2],
      data: new Float32Array(8),
    },
  });
}

async function pack(
  root: string,
  folder: string,
  json: unknown,
  files: Record<string, Uint8Array | string> = {},
) {
  const dir = path.join(root, folder);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'style.json'), typeof json === 'string' ? json : JSON.stringify(json));
  for (const [f, b] of Object.entries(files)) await writeFile(path.join(dir, f), b);
}

const good = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  name: { en: 'Good', zh: '好' },
  base: 'sd15-film',
  prompt: 'red scarf',
  licence: { spdx: 'Apache-2.0' },
  ...extra,
});

describe('style packs', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'fc-styles-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('loads the starter set with no problems, names in English and Chinese', async () => {
    const cat = await loadStyleCatalog({ dirs: [BUILTIN_STYLES_DIR], maxLoraBytes: MAX });
    expect(cat.problems).toEqual([]);
    expect(cat.packs.size).toBeGreaterThanOrEqual(8);
    for (const p of cat.packs.values()) {
      expect(p.name.zh).toBeTruthy();
      expect(p.prompt.length).toBeGreaterThan(10);
      expect(p.licence.spdx).toBe('Apache-2.0');
      // Built on FaceChain's prompt scaffolding, so read as FaceChain reads it.
      expect(p.weighting).toBe('facechain-plain');
    }
    const zh = cat.list('zh-CN').find((s) => s.id === 'studio-headshot');
    expect(zh?.name).toBe('影棚头像');
    expect(cat.list('en').find((s) => s.id === 'studio-headshot')?.name).toBe('Studio headshot');
  });

  it('reports every broken pack at load time with its reason and keeps the good ones', async () => {
    const root = path.join(tmp, 'a');
    const other = path.join(tmp, 'b');
    await pack(
      root,
      'ok',
      good('ok', { loras: [{ file: 'w.safetensors', multiplier: 0.4 }], preview: 'p.png' }),
      {
        'w.safetensors': loraBytes(),
        'p.png': PNG,
      },
    );
    await pack(root, 'badjson', '{"id": ');
    await pack(root, 'schema', good('schema', { humanMultiplier: 5 }));
    await pack(root, 'wrong-id', good('another-id'));
    await pack(root, 'nopreview', good('nopreview', { preview: 'missing.jpg' }));
    await pack(root, 'notimage', good('notimage', { preview: 'p.jpg' }), { 'p.jpg': 'hello' });
    await pack(root, 'badlora', good('badlora', { loras: [{ file: 'x.safetensors' }] }), {
      'x.safetensors': 'garbage!!garbage',
    });
    await pack(root, 'notlora', good('notlora', { loras: [{ file: 'x.safetensors' }] }), {
      'x.safetensors': encodeSafetensors({ weight: { dtype: 'F32', shape: [2], data: new Float32Array(2) } }),
    });
    await pack(root, 'xl', good('xl', { base: 'sdxl' }));
    await pack(root, 'escape', good('escape', { loras: [{ file: '../ok/w.safetensors' }] }));
    await pack(root, 'weighting', good('weighting', { weighting: 'bbcode' }));
    // Past what the engine runs: refused by the check, not at generation time.
    await pack(root, 'toolong', good('toolong', { sampler: { name: 'euler', steps: 200 } }));
    await mkdir(path.join(root, 'empty'));
    await pack(other, 'ok', good('ok'));
    const cat = await loadStyleCatalog({
      dirs: [root, other],
      knownBases: new Set(['sd15-film', 'sd15-majicmix-realistic-v6']),
      maxLoraBytes: MAX,
    });
    expect([...cat.packs.keys()]).toEqual(['ok']);
    expect(cat.packs.get('ok')!.loraPaths).toEqual([
      { path: path.join(root, 'ok', 'w.safetensors'), multiplier: 0.4 },
    ]);
    const byPack = Object.fromEntries(
      cat.problems.map((p) => [`${path.basename(path.dirname(p.dir))}/${p.pack}`, p]),
    );
    expect(byPack['a/badjson']).toMatchObject({ code: 'style_json' });
    expect(byPack['a/empty']!.message).toMatch(/style.json is missing/);
    expect(byPack['a/schema']).toMatchObject({ code: 'style_schema' });
    expect(byPack['a/schema']!.message).toMatch(/humanMultiplier/);
    expect(byPack['a/wrong-id']!.message).toMatch(/has id "another-id" but its folder is "wrong-id"/);
    expect(byPack['a/nopreview']!.message).toMatch(/missing.jpg is missing/);
    expect(byPack['a/notimage']!.message).toMatch(/not a JPEG, PNG or WebP/);
    expect(byPack['a/badlora']).toMatchObject({ code: 'style_lora' });
    expect(byPack['a/badlora']!.message).toMatch(/not a valid .safetensors file/);
    expect(byPack['a/notlora']!.message).toMatch(/holds no LoRA weights/);
    expect(byPack['a/xl']!.message).toMatch(/base model "sdxl" is not installed/);
    expect(byPack['a/escape']).toMatchObject({ code: 'style_schema' });
    expect(byPack['a/weighting']!.message).toMatch(/weighting/);
    expect(byPack['a/toolong']).toMatchObject({ code: 'style_schema' });
    expect(byPack['a/toolong']!.message).toMatch(/steps/);
    expect(byPack['b/ok']).toMatchObject({ code: 'style_duplicate' });
    expect(cat.problems).toHaveLength(13);
    expect(() => cat.get('xl')).toThrow(/installed but broken: base model/);
    expect(() => cat.get('nope')).toThrow(/There is no style "nope". Available styles: ok/);
  });

  it('imports FaceChain style JSON files (LoRA and prompt-only) into loadable packs', async () => {
    const fc = path.join(tmp, 'facechain');
    await mkdir(path.join(fc, 'style_image'), { recursive: true });
    await writeFile(path.join(fc, 'style_image', 'Polaroid.png'), PNG);
    const withLora = {
      name: '拍立得风(Polaroid style)',
      img: './style_image/Polaroid.png',
      model_id: 'someone/polaroid_lora',
      revision: 'v1.0.0',
      bin_file: 'InstantPhotoX3.safetensors',
      multiplier_style: 0.4,
      multiplier_human: 0.95,
      add_prompt_style: '1girl, close-up, polaroid, instant photo',
    };
    const promptOnly = {
      name: '赛博朋克(Cybernetics punk)',
      img: './style_image/missing.jpg',
      model_id: null,
      revision: null,
      bin_file: null,
      multiplier_style: 0.35,
      multiplier_human: 0.95,
      add_prompt_style: 'white hair, neon glowing glasses, cybernetics',
    };
    const a = convertFacechainStyle(withLora, 'MajicmixRealistic_v6');
    expect(a.pack).toMatchObject({
      id: 'polaroid-style',
      name: { en: 'Polaroid style', zh: '拍立得风' },
      base: 'sd15-majicmix-realistic-v6',
      loras: [{ file: 'InstantPhotoX3.safetensors', multiplier: 0.4 }],
      humanMultiplier: 0.95,
      prompt: '1girl, close-up, polaroid, instant photo',
      weighting: 'facechain-plain',
    });
    const b = convertFacechainStyle(promptOnly, 'leosamsMoonfilm_filmGrain20');
    expect(b.pack).toMatchObject({ id: 'cybernetics-punk', base: 'sd15-film', loras: [] });
    expect(() => convertFacechainStyle({ img: 'x' }, 'sd15-film')).toThrow(/is not a FaceChain style: name/);

    const out = path.join(tmp, 'imported');
    const wa = await writeImportedStyle(a, out, fc);
    const wb = await writeImportedStyle(b, out, fc);
    expect(wa.warnings.join(' ')).toMatch(/place InstantPhotoX3.safetensors/);
    expect(wb.warnings.join(' ')).toMatch(/preview not copied/);
    let cat = await loadStyleCatalog({ dirs: [out], maxLoraBytes: MAX });
    expect([...cat.packs.keys()]).toEqual(['cybernetics-punk']);
    expect(cat.problems[0]).toMatchObject({ pack: 'polaroid-style', code: 'style_lora' });
    // Once the operator puts the weights in place, the pack loads.
    await writeFile(path.join(wa.dir, 'InstantPhotoX3.safetensors'), loraBytes());
    cat = await loadStyleCatalog({ dirs: [out], maxLoraBytes: MAX });
    expect(cat.problems).toEqual([]);
    expect(cat.get('polaroid-style').previewPath).toBe(path.join(wa.dir, 'preview.png'));
    expect(splitName('Plain name')).toEqual({ en: 'Plain name' });
  });
});

describe('prompt builder', () => {
  const style = { prompt: 'red scarf, snowy street', overrides: {} };
  const tail = `red scarf, snowy street, ${QUALITY_WORDS}`;

  it('face-LoRA prompts: trigger, identity phrase, tags, style, quality words (FaceChain inference.py)', () => {
    const man = buildPrompt({ gender: 'male', ageBand: 'adult', tags: ['black hair'] }, style, 'lora');
    expect(man.prompt).toBe(`(<fcsks>:10), a handsome man, black hair, ${tail}`);
    expect(man.negativePrompt).toBe(`${NEGATIVE_PROMPT}, children`);
    const woman = buildPrompt({ gender: 'female', ageBand: 'adult' }, style, 'lora');
    expect(woman.prompt).toBe(`(<fcsks>:10), a beautiful woman, ${tail}`);
    expect(woman.negativePrompt).toBe(NEGATIVE_PROMPT);
    const boy = buildPrompt({ gender: 'male', ageBand: 'child' }, style, 'lora');
    expect(boy.prompt).toBe(`(<fcsks>:10), a boy, children, ${tail}`);
    expect(boy.negativePrompt).toBe(NEGATIVE_PROMPT);
    const girl = buildPrompt({ gender: 'female', ageBand: 'child' }, style, 'lora');
    expect(girl.prompt).toBe(`(<fcsks>:10), a girl, children, ${tail}`);
    const oldMan = buildPrompt({ gender: 'male', ageBand: 'mature' }, style, 'lora');
    expect(oldMan.prompt).toBe(`(<fcsks>:10), a mature man, ${tail}`);
    expect(oldMan.negativePrompt).toBe(`${NEGATIVE_PROMPT}, children`);
    const oldWoman = buildPrompt({ gender: 'female', ageBand: 'mature' }, style, 'lora');
    expect(oldWoman.prompt).toBe(`(<fcsks>:10), a mature woman, ${tail}`);
  });

  it('FACT prompts: identity phrase and age words for men aged 10-39 (inference_fact.py)', () => {
    expect(buildPrompt({ gender: 'male', ageBand: 'adult', age: 27 }, style, 'fact').prompt).toBe(
      `a handsome man, 25-year-old, ${tail}`,
    );
    expect(buildPrompt({ gender: 'male', ageBand: 'adult', age: 15 }, style, 'fact').prompt).toBe(
      `a handsome man, 20-year-old, ${tail}`,
    );
    expect(buildPrompt({ gender: 'female', ageBand: 'adult', age: 27 }, style, 'fact').prompt).toBe(
      `a beautiful woman, ${tail}`,
    );
    expect(buildPrompt({ gender: 'male', ageBand: 'mature', age: 55 }, style, 'fact').prompt).toBe(
      `a mature man, ${tail}`,
    );
    expect(buildPrompt({ gender: 'female', ageBand: 'child', age: 6 }, style, 'fact').prompt).toBe(
      `a girl, children, ${tail}`,
    );
  });

  it('per-style overrides replace the trigger, quality words and negative prompt', () => {
    const p = buildPrompt(
      { gender: 'male', ageBand: 'adult' },
      {
        prompt: 'oil painting',
        overrides: { trigger: '<fcsks>', quality: 'best quality', negative: 'blurry', negativeExtra: 'text' },
      },
      'lora',
      'smiling',
    );
    expect(p).toEqual({
      prompt: '<fcsks>, a handsome man, oil painting, smiling, best quality',
      negativePrompt: 'blurry, children, text',
    });
  });

  it('keeps tags that describe hair/face/mouth/skin/smile in more than half of the captions', () => {
    expect(
      frequentTags([
        ['black hair', 'smile', 'glasses'],
        ['black hair', 'glasses'],
        ['black hair', 'smile', 'round face'],
      ]),
    ).toEqual(['black hair', 'smile']);
  });
});
