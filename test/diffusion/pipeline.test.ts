/**
 * The whole generation pipeline on fixture models (models/fixtures/sd.ts): diffusers folder
 * layout, real ONNX Runtime sessions, an oracle UNet whose right answer is known.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SdPipeline } from '../../core/diffusion/generate.ts';
import { closeSharedPipelines, sharedPipeline } from '../../core/diffusion/index.ts';
import { SdModelFolder } from '../../core/diffusion/model-folder.ts';
import { type PromptWeighting, tokenizePrompt } from '../../core/diffusion/prompt.ts';
import type { RgbImage } from '../../core/image/codec.ts';
import {
  CONTROL_LEVELS,
  controlCoefficient,
  HIDDEN,
  oracleTargetLatents,
  positionEmbedding,
  SCALING,
  TEXT_GAIN,
  tokenEmbedding,
  VAE_DECODE,
  VAE_ENCODE,
  writeFixtureControlNet,
  writeFixtureSdModel,
} from '../../models/fixtures/sd.ts';
import { psnr, writeFastTokenizer } from './helpers.ts';

const root = mkdtempSync(path.join(tmpdir(), 'fc-sd-'));
const base = path.join(root, 'base');
let pipe: SdPipeline;

beforeAll(async () => {
  writeFixtureSdModel(base, { controlnet: true });
  writeFixtureControlNet(path.join(base, 'controlnet-canny'));
  writeFixtureControlNet(path.join(base, 'controlnet-openpose'));
  pipe = SdPipeline.open(base, { providers: ['cpu'], threads: 1 });
  await pipe.load();
});
afterAll(async () => {
  await pipe?.close();
  rmSync(root, { recursive: true, force: true });
});

const W = 64;
const H = 64;
const h = H / 8;
const w = W / 8;

/** Mean of the fixture text encoder's hidden states for a prompt (from its defining functions). */
function textMean(prompt: string, weighting: PromptWeighting = 'a1111'): number {
  const t = tokenizePrompt(pipe.folder.tokenizer, prompt, 1, weighting);
  let s = 0;
  for (let k = 0; k < t.ids.length; k++) {
    const p = k % 77;
    for (let d = 0; d < HIDDEN; d++) s += tokenEmbedding(t.ids[k], d) + positionEmbedding(p, d);
  }
  return s / (t.ids.length * HIDDEN);
}

/** The oracle's target for a prompt pair under CFG scale g, plus a constant shift. */
function expectedLatents(
  prompt: string,
  negative: string,
  g: number,
  shift = 0,
  weighting: PromptWeighting = 'a1111',
): Float32Array {
  const mc = textMean(prompt, weighting);
  const mu = textMean(negative, weighting);
  const text = g > 1 ? mu + g * (mc - mu) : mc;
  return oracleTargetLatents(h, w).map((v) => v + TEXT_GAIN * text + shift);
}

function solid(width: number, height: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) data.set(rgb, p * 3);
  return { data, width, height };
}

const PROMPT = 'a photo of a red cat';
const NEG = 'photo';

describe('generate on the oracle fixture', () => {
  for (const sampler of [
    'ddim',
    'pndm',
    'euler',
    'euler-a',
    'dpm++2m',
    'dpm++2m-karras',
    'dpm-single',
    'lcm',
  ]) {
    it(`${sampler}: text-to-image with CFG 7.5 ends at the known target`, async () => {
      const steps = sampler === 'lcm' ? 4 : 12;
      const r = await pipe.generate({
        prompt: PROMPT,
        negativePrompt: NEG,
        width: W,
        height: H,
        steps,
        guidanceScale: sampler === 'lcm' ? 1 : 7.5,
        sampler,
        seed: 11,
        returnLatents: true,
      });
      const want = expectedLatents(PROMPT, NEG, sampler === 'lcm' ? 1 : 7.5);
      const p = psnr(r.images[0].latents!, want);
      console.info(`[pipeline oracle] ${sampler} ${steps} steps: ${p.toFixed(1)} dB`);
      expect(p).toBeGreaterThanOrEqual(sampler === 'pndm' ? 35 : 40);
      // PNDM's warm-up calls the UNet once more than the step count (as diffusers' PLMS).
      const stepsRun = sampler === 'pndm' ? steps + 1 : steps;
      expect(r.metadata).toMatchObject({ sampler, steps, stepsRun, seeds: [11], width: W, height: H });
    });
  }

  it('decodes with the VAE: the image is M · latents upsampled by 8 (known answer)', async () => {
    const r = await pipe.generate({
      prompt: PROMPT,
      width: W,
      height: H,
      steps: 6,
      sampler: 'euler',
      seed: 1,
      returnLatents: true,
    });
    const z = r.images[0].latents!;
    const img = r.images[0].rgb;
    expect([img.width, img.height]).toEqual([W, H]);
    let maxErr = 0;
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let c = 0; c < 3; c++) {
          let v = 0;
          for (let k = 0; k < 4; k++) v += VAE_DECODE[c][k] * z[(k * h + (y >> 3)) * w + (x >> 3)];
          const want = Math.max(0, Math.min(255, Math.round((v / 2 + 0.5) * 255)));
          maxErr = Math.max(maxErr, Math.abs(img.data[(y * W + x) * 3 + c] - want));
        }
    expect(maxErr).toBeLessThanOrEqual(1);
    // The PNG is a real PNG of that image.
    expect(Buffer.from(r.images[0].png.subarray(1, 4)).toString()).toBe('PNG');
  });

  it('same seed → identical bytes; different seeds → different images; image n uses seed + n', async () => {
    const opts = {
      prompt: PROMPT,
      width: W,
      height: H,
      steps: 4,
      sampler: 'ddim',
      guidanceScale: 3,
    } as const;
    const a = await pipe.generate({ ...opts, seed: 5 });
    const b = await pipe.generate({ ...opts, seed: 5 });
    const c = await pipe.generate({ ...opts, seed: 6 });
    expect(Buffer.from(a.images[0].png).equals(Buffer.from(b.images[0].png))).toBe(true);
    // DDIM ends at sigma 0.029 (SD 1.5's final alpha), where the seed's noise still shows.
    expect(Buffer.from(a.images[0].rgb.data).equals(Buffer.from(c.images[0].rgb.data))).toBe(false);
    const two = await pipe.generate({ ...opts, seed: 5, count: 2 });
    expect(two.metadata.seeds).toEqual([5, 6]);
    expect(Buffer.from(two.images[1].png).equals(Buffer.from(c.images[0].png))).toBe(true);
  });

  it('variations ("more like this") blend the starting noise of a second seed', async () => {
    // DDIM keeps sigma 0.029 of the starting noise's direction, so the blend is visible in latents.
    const opts = {
      prompt: PROMPT,
      width: W,
      height: H,
      steps: 4,
      sampler: 'ddim',
      seed: 5,
      returnLatents: true,
    } as const;
    const base = (await pipe.generate(opts)).images[0].latents!;
    const other = (await pipe.generate({ ...opts, seed: 77 })).images[0].latents!;
    const v0 = (await pipe.generate({ ...opts, variation: { seed: 77, strength: 0 } })).images[0].latents!;
    const v1 = await pipe.generate({ ...opts, variation: { seed: 77, strength: 1 } });
    const half = (await pipe.generate({ ...opts, variation: { seed: 77, strength: 0.5 } })).images[0]
      .latents!;
    expect(Array.from(v0)).toEqual(Array.from(base));
    expect(Array.from(v1.images[0].latents!)).toEqual(Array.from(other));
    expect(v1.metadata.variation).toEqual({ seed: 77, strength: 1 });
    const dist = (a: Float32Array, b: Float32Array) => a.reduce((s, x, k) => s + (x - b[k]) ** 2, 0);
    expect(dist(half, base)).toBeGreaterThan(0);
    expect(dist(half, other)).toBeGreaterThan(0);
    expect(dist(half, base)).toBeLessThan(dist(other, base));
    await expect(pipe.generate({ ...opts, variation: { seed: 1, strength: 2 } })).rejects.toMatchObject({
      code: 'bad_variation',
    });
  });

  it('batches images into one UNet call per step with the same results as one at a time', async () => {
    for (const sampler of ['ddim', 'euler-a'] as const) {
      const opts = {
        prompt: PROMPT,
        negativePrompt: NEG,
        width: W,
        height: H,
        steps: 5,
        sampler,
        seed: 40,
        count: 5,
      };
      const one = await pipe.generate(opts);
      const calls: string[] = [];
      const batched = await pipe.generate(
        { ...opts, batchSize: 3 },
        { onProgress: (p) => p.step === 1 && calls.push(`${p.image}+${p.images}/${p.count}`) },
      );
      expect(calls).toEqual(['1+3/5', '4+2/5']);
      expect(batched.metadata.seeds).toEqual([40, 41, 42, 43, 44]);
      for (let k = 0; k < 5; k++)
        expect(
          Buffer.from(batched.images[k].png).equals(Buffer.from(one.images[k].png)),
          `${sampler} image ${k}`,
        ).toBe(true);
    }
    // With ControlNet and guidance the batched rows still land on the known target.
    const r = await pipe.generate({
      prompt: PROMPT,
      negativePrompt: NEG,
      width: W,
      height: H,
      steps: 6,
      sampler: 'euler',
      seed: 1,
      count: 2,
      batchSize: 2,
      controls: [{ model: 'canny', image: solid(W, H, [51, 51, 51]), scale: 1 }],
      returnLatents: true,
    });
    let coef = 0;
    for (let i = 0; i <= CONTROL_LEVELS.length; i++) coef += controlCoefficient(i);
    for (const img of r.images)
      expect(psnr(img.latents!, expectedLatents(PROMPT, NEG, 7.5, 0.2 * coef))).toBeGreaterThanOrEqual(40);
  });

  it('runs concurrent calls one after another with the same results as sequential ones', async () => {
    const opts = { prompt: PROMPT, width: W, height: H, steps: 4, sampler: 'euler-a' } as const;
    const [a, b] = await Promise.all([
      pipe.generate({ ...opts, seed: 1 }),
      pipe.generate({ ...opts, seed: 2 }),
    ]);
    const a1 = await pipe.generate({ ...opts, seed: 1 });
    const b1 = await pipe.generate({ ...opts, seed: 2 });
    expect(Buffer.from(a.images[0].png).equals(Buffer.from(a1.images[0].png))).toBe(true);
    expect(Buffer.from(b.images[0].png).equals(Buffer.from(b1.images[0].png))).toBe(true);
    // A queued call cancelled before its turn never starts.
    const ac = new AbortController();
    const first = pipe.generate({ ...opts, seed: 3 });
    const queued = pipe.generate({ ...opts, seed: 4 }, { signal: ac.signal });
    ac.abort();
    await first;
    await expect(queued).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('cancellation stops within one step', async () => {
    const ac = new AbortController();
    const seen: number[] = [];
    const run = pipe.generate(
      { prompt: PROMPT, width: W, height: H, steps: 20, sampler: 'euler', seed: 2 },
      {
        signal: ac.signal,
        onProgress: (p) => {
          seen.push(p.step);
          if (p.step === 3) ac.abort();
        },
      },
    );
    await expect(run).rejects.toMatchObject({ code: 'cancelled' });
    expect(seen).toEqual([1, 2, 3]);
  });

  it('reports progress with latent previews every N steps', async () => {
    const got: { step: number; total: number; preview?: RgbImage }[] = [];
    await pipe.generate(
      { prompt: PROMPT, width: W, height: H, steps: 5, sampler: 'euler', seed: 2, previewEvery: 2 },
      { onProgress: (p) => got.push(p) },
    );
    expect(got.map((p) => p.step)).toEqual([1, 2, 3, 4, 5]);
    expect(got.map((p) => !!p.preview)).toEqual([false, true, false, true, true]);
    expect([got[1].preview!.width, got[1].preview!.height]).toEqual([w, h]);
  });

  it('img2img at any strength ends at the target; fewer steps run', async () => {
    const init = solid(W, H, [200, 100, 50]);
    for (const strength of [0.2, 0.5, 0.9]) {
      const r = await pipe.generate({
        prompt: PROMPT,
        negativePrompt: NEG,
        width: W,
        height: H,
        steps: 10,
        sampler: 'dpm++2m',
        seed: 4,
        initImage: init,
        strength,
        returnLatents: true,
      });
      expect(r.metadata.stepsRun).toBe(Math.floor(10 * strength));
      expect(psnr(r.images[0].latents!, expectedLatents(PROMPT, NEG, 7.5))).toBeGreaterThanOrEqual(40);
    }
  });

  it('inpainting by latent blending keeps the init image outside the mask', async () => {
    const rgb: [number, number, number] = [200, 100, 50];
    const mask = solid(W, H, [0, 0, 0]);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W / 2; x++) mask.data.fill(255, (y * W + x) * 3, (y * W + x) * 3 + 3);
    const r = await pipe.generate({
      prompt: PROMPT,
      width: W,
      height: H,
      steps: 8,
      sampler: 'euler',
      seed: 9,
      initImage: solid(W, H, rgb),
      mask,
      returnLatents: true,
    });
    expect(r.metadata.inpainting).toBe('blend');
    const z = r.images[0].latents!;
    const target = expectedLatents(PROMPT, '', 7.5);
    const px = rgb.map((v) => v / 127.5 - 1);
    let maxIn = 0;
    let maxOut = 0;
    for (let c = 0; c < 4; c++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const k = (c * h + y) * w + x;
          if (x < w / 2) maxIn = Math.max(maxIn, Math.abs(z[k] - target[k]));
          else {
            const initLatent =
              SCALING * (VAE_ENCODE[c][0] * px[0] + VAE_ENCODE[c][1] * px[1] + VAE_ENCODE[c][2] * px[2]);
            maxOut = Math.max(maxOut, Math.abs(z[k] - initLatent));
          }
        }
    expect(maxIn).toBeLessThan(1e-3);
    expect(maxOut).toBeLessThan(1e-5);
  });

  it('ControlNet residuals reach the UNet with their scales; several ControlNets add up', async () => {
    const grey = 51; // conditioning image mean = 0.2 in [0, 1]
    const controls = [
      { model: 'canny', image: solid(W, H, [grey, grey, grey]), scale: 0.5, preprocess: 'none' as const },
      { model: 'openpose', image: solid(W, H, [grey, grey, grey]), scale: 1 },
    ];
    const r = await pipe.generate({
      prompt: PROMPT,
      negativePrompt: NEG,
      width: W,
      height: H,
      steps: 8,
      sampler: 'euler',
      seed: 3,
      controls,
      returnLatents: true,
    });
    let coef = 0;
    for (let i = 0; i <= CONTROL_LEVELS.length; i++) coef += controlCoefficient(i);
    const shift = (0.5 + 1) * 0.2 * coef;
    expect(psnr(r.images[0].latents!, expectedLatents(PROMPT, NEG, 7.5, shift))).toBeGreaterThanOrEqual(40);
    expect(r.metadata.controls).toEqual([
      { model: 'canny', scale: 0.5 },
      { model: 'openpose', scale: 1 },
    ]);
  });

  it('gives clear errors for bad options and unknown ControlNets', async () => {
    const g = (o: object) => pipe.generate({ prompt: 'x', width: W, height: H, steps: 2, ...o });
    await expect(g({ width: 100 })).rejects.toMatchObject({
      code: 'bad_size',
      message: expect.stringMatching(/multiple of 8.*104/),
    });
    await expect(g({ steps: 0 })).rejects.toMatchObject({ code: 'bad_steps' });
    await expect(g({ sampler: 'k_lms' })).rejects.toMatchObject({ code: 'bad_sampler' });
    await expect(g({ seed: -1 })).rejects.toMatchObject({ code: 'bad_seed' });
    await expect(g({ mask: solid(W, H, [255, 255, 255]) })).rejects.toMatchObject({
      code: 'mask_without_image',
    });
    await expect(g({ controls: [{ model: 'depth', image: solid(W, H, [0, 0, 0]) }] })).rejects.toMatchObject({
      code: 'not_available',
      message: expect.stringMatching(/depth.*Available: canny, openpose/),
    });
  });

  it("plain prompts (FaceChain's way): weights stay characters, and the prompt is cut to one window", async () => {
    const base = { width: W, height: H, steps: 8, sampler: 'euler', seed: 3, returnLatents: true } as const;
    const [P, N] = ['(red cat:10), a photo', '(photo:2)'];
    const plain = await pipe.generate({ ...base, prompt: P, negativePrompt: N, promptWeighting: 'plain' });
    // The same characters through the attention parser, escaped so that they stay characters.
    const escaped = await pipe.generate({
      ...base,
      prompt: '\\(red cat:10\\), a photo',
      negativePrompt: '\\(photo:2\\)',
    });
    const weighted = await pipe.generate({ ...base, prompt: P, negativePrompt: N });
    expect(Array.from(plain.images[0].latents!)).toEqual(Array.from(escaped.images[0].latents!));
    // Known answers: the oracle's target follows the tokens each way of reading produces.
    const plainTarget = expectedLatents(P, N, 7.5, 0, 'plain');
    expect(psnr(plain.images[0].latents!, plainTarget)).toBeGreaterThan(100);
    expect(psnr(weighted.images[0].latents!, expectedLatents(P, N, 7.5))).toBeGreaterThan(100);
    // The two targets differ by far more than float rounding (both runs land at 130+ dB).
    expect(psnr(weighted.images[0].latents!, plainTarget)).toBeLessThan(90);
    expect(plain.metadata.promptWeighting).toBe('plain');
    expect(weighted.metadata.promptWeighting).toBe('a1111');
    expect(plain.metadata.truncatedTokens).toBeUndefined();

    // 120 one-token words: "plain" keeps the first 75 (diffusers' truncation), "a1111" two windows.
    const words = (n: number) => Array.from({ length: n }, () => 'cat').join(' ');
    const cut = await pipe.generate({ ...base, prompt: words(120), promptWeighting: 'plain' });
    const first75 = await pipe.generate({ ...base, prompt: words(75), promptWeighting: 'plain' });
    expect(cut.metadata.truncatedTokens).toEqual({ prompt: 45, negative: 0 });
    expect(Array.from(cut.images[0].latents!)).toEqual(Array.from(first75.images[0].latents!));
    const both = await pipe.generate({ ...base, prompt: words(120) });
    expect(both.metadata.truncatedTokens).toBeUndefined();
    expect(psnr(both.images[0].latents!, expectedLatents(words(120), '', 7.5))).toBeGreaterThan(100);
    await expect(
      pipe.generate({ ...base, prompt: 'x', promptWeighting: 'bbcode' as never }),
    ).rejects.toMatchObject({
      code: 'bad_prompt_weighting',
    });
  });

  it('caches prompt embeddings', async () => {
    const before = (pipe as unknown as { text: { cached: number } }).text.cached;
    await pipe.generate({
      prompt: 'a brand new prompt',
      width: W,
      height: H,
      steps: 1,
      sampler: 'euler',
      seed: 1,
    });
    await pipe.generate({
      prompt: 'a brand new prompt',
      width: W,
      height: H,
      steps: 1,
      sampler: 'euler',
      seed: 2,
    });
    expect((pipe as unknown as { text: { cached: number } }).text.cached).toBe(before + 1);
  });
});

describe('model folders', () => {
  it('shares one pipeline per folder until closeSharedPipelines()', async () => {
    const a = sharedPipeline(base);
    expect(sharedPipeline(`${base}/`)).toBe(a);
    await a.generate({ prompt: 'x', width: W, height: H, steps: 1, sampler: 'euler', seed: 1 });
    await closeSharedPipelines();
    const b = sharedPipeline(base);
    expect(b).not.toBe(a);
    await closeSharedPipelines();
  });

  it('a wrong folder gives an error naming the missing file', () => {
    const dir = path.join(root, 'broken');
    writeFixtureSdModel(dir, { omit: ['unet/model.onnx'] });
    expect(() => SdModelFolder.open(dir)).toThrow(/missing unet\/model\.onnx/);
    expect(SdModelFolder.problem(dir)).toMatch(/missing unet\/model\.onnx$/);
    expect(SdModelFolder.problem(base)).toBeUndefined();
    expect(() => SdModelFolder.open(path.join(root, 'nowhere'))).toThrow(/does not exist/);
    const noTok = path.join(root, 'notok');
    writeFixtureSdModel(noTok, { omit: ['tokenizer'] });
    expect(() => SdModelFolder.open(noTok)).toThrow(/missing tokenizer\/vocab\.json/);
  });

  it('opens a folder whose tokenizer is tokenizer.json only (transformers >= 5) and generates the same image', async () => {
    const dir = path.join(root, 'fast-tokenizer');
    writeFixtureSdModel(dir, { omit: ['tokenizer'] });
    expect(SdModelFolder.problem(dir)).toMatch(/missing tokenizer\/vocab\.json and tokenizer\/merges\.txt/);
    writeFastTokenizer(path.join(dir, 'tokenizer'), 'pairs');
    expect(SdModelFolder.problem(dir)).toBeUndefined();
    const p = SdPipeline.open(dir, { providers: ['cpu'] });
    try {
      const opts = {
        prompt: PROMPT,
        negativePrompt: NEG,
        width: W,
        height: H,
        steps: 3,
        sampler: 'ddim',
        seed: 4,
      };
      const a = await p.generate(opts);
      const b = await pipe.generate(opts);
      expect(Buffer.from(a.images[0].png).equals(Buffer.from(b.images[0].png))).toBe(true);
    } finally {
      await p.close();
    }
  });

  it('img2img without a VAE encoder says which file is needed', async () => {
    const dir = path.join(root, 'noenc');
    writeFixtureSdModel(dir, { omit: ['vae_encoder/model.onnx'] });
    const p = SdPipeline.open(dir, { providers: ['cpu'] });
    try {
      await expect(
        p.generate({ prompt: 'x', width: W, height: H, steps: 2, initImage: solid(W, H, [1, 2, 3]) }),
      ).rejects.toThrow(/vae_encoder\/model\.onnx/);
    } finally {
      await p.close();
    }
  });

  it('fp16 export with int64 timestep, external UNet weights and optimum VAE encoder output', async () => {
    const dir = path.join(root, 'fp16');
    writeFixtureSdModel(dir, {
      precision: 'fp16',
      timestepType: 'int64',
      externalData: true,
      vaeEncoderOutput: 'latent_parameters',
      scalingFactor: SCALING,
    });
    const p = SdPipeline.open(dir, { providers: ['cpu'] });
    try {
      const r = await p.generate({
        prompt: PROMPT,
        negativePrompt: NEG,
        width: W,
        height: H,
        steps: 10,
        sampler: 'dpm++2m',
        seed: 8,
        initImage: solid(W, H, [10, 20, 30]),
        strength: 0.8,
        returnLatents: true,
      });
      const q = psnr(r.images[0].latents!, expectedLatents(PROMPT, NEG, 7.5));
      console.info(`[pipeline oracle] fp16 dpm++2m img2img: ${q.toFixed(1)} dB`);
      expect(q).toBeGreaterThanOrEqual(40);
    } finally {
      await p.close();
    }
  });

  it('UNet with a scalar (rank-0) timestep input', async () => {
    const dir = path.join(root, 'scalar-t');
    writeFixtureSdModel(dir, { scalarTimestep: true });
    const p = SdPipeline.open(dir, { providers: ['cpu'] });
    try {
      const r = await p.generate({
        prompt: PROMPT,
        negativePrompt: NEG,
        width: W,
        height: H,
        steps: 6,
        sampler: 'euler',
        seed: 2,
        returnLatents: true,
      });
      expect(psnr(r.images[0].latents!, expectedLatents(PROMPT, NEG, 7.5))).toBeGreaterThanOrEqual(40);
    } finally {
      await p.close();
    }
  });

  it('feeds extra UNet inputs (FACT-style face tokens, adapter scale) from the caller, per CFG row', async () => {
    const dir = path.join(root, 'extra');
    writeFixtureSdModel(dir, {
      extraInputs: [
        { name: 'face_tokens', shape: ['batch', 16, HIDDEN] },
        { name: 'adapter_scale', shape: [] },
      ],
    });
    const p = SdPipeline.open(dir, { providers: ['cpu'] });
    try {
      const opts = {
        prompt: PROMPT,
        negativePrompt: NEG,
        width: W,
        height: H,
        steps: 6,
        sampler: 'euler',
        seed: 2,
        returnLatents: true,
      };
      await expect(p.generate(opts)).rejects.toMatchObject({
        code: 'model_input',
        message: expect.stringMatching(/face_tokens/),
      });
      const seen: number[] = [];
      const r = await p.generate(opts, {
        unetInputs: ({ batch }) => {
          seen.push(batch);
          const tokens = new Float32Array(batch * 16 * HIDDEN);
          tokens.fill(0.1, (batch - 1) * 16 * HIDDEN); // conditional row 0.1, unconditional row 0
          return {
            face_tokens: { type: 'float32', data: tokens, dims: [batch, 16, HIDDEN] },
            adapter_scale: { type: 'float32', data: new Float32Array([0.5]), dims: [] },
          };
        },
      });
      expect(seen).toEqual([2]);
      // Two images per call: the hook is asked for 4 rows ([uncond x 2, cond x 2]).
      const two = await p.generate(
        { ...opts, count: 2, batchSize: 2 },
        {
          unetInputs: ({ batch, images }) => {
            seen.push(batch, images);
            const tokens = new Float32Array(batch * 16 * HIDDEN);
            tokens.fill(0.1, images * 16 * HIDDEN);
            return {
              face_tokens: { type: 'float32', data: tokens, dims: [batch, 16, HIDDEN] },
              adapter_scale: { type: 'float32', data: new Float32Array([0.5]), dims: [] },
            };
          },
        },
      );
      expect(seen).toEqual([2, 4, 2]);
      for (const img of two.images)
        expect(psnr(img.latents!, expectedLatents(PROMPT, NEG, 7.5, 7.5 * 0.1 + 0.5))).toBeGreaterThanOrEqual(
          40,
        );
      // Guided face-token term: 0 + 7.5 * (0.1 - 0); the scale adds 0.5 to both rows.
      expect(
        psnr(r.images[0].latents!, expectedLatents(PROMPT, NEG, 7.5, 7.5 * 0.1 + 0.5)),
      ).toBeGreaterThanOrEqual(40);
    } finally {
      await p.close();
    }
  });

  it("uses a UNet given as a separate file instead of the folder's", async () => {
    const dir = path.join(root, 'override');
    writeFixtureSdModel(dir, { omit: [] });
    const other = path.join(root, 'override-unet');
    writeFixtureSdModel(other, { extraInputs: [{ name: 'adapter_scale', shape: [] }] });
    const p = SdPipeline.open(dir, { providers: ['cpu'], unet: path.join(other, 'unet/model.onnx') });
    try {
      const r = await p.generate(
        {
          prompt: PROMPT,
          width: W,
          height: H,
          steps: 4,
          sampler: 'euler',
          seed: 2,
          guidanceScale: 1,
          returnLatents: true,
        },
        {
          unetInputs: () => ({
            adapter_scale: { type: 'float32', data: new Float32Array([0.25]), dims: [] },
          }),
        },
      );
      expect(psnr(r.images[0].latents!, expectedLatents(PROMPT, '', 1, 0.25))).toBeGreaterThanOrEqual(40);
    } finally {
      await p.close();
    }
  });

  it('fp16 ControlNet used twice with different images in one generation', async () => {
    const dir = path.join(root, 'fp16-cn');
    writeFixtureSdModel(dir, { precision: 'fp16', controlnet: true });
    writeFixtureControlNet(path.join(dir, 'controlnet-canny'), 'fp16');
    const p = SdPipeline.open(dir, { providers: ['cpu'] });
    try {
      const r = await p.generate({
        prompt: PROMPT,
        negativePrompt: NEG,
        width: W,
        height: H,
        steps: 8,
        sampler: 'euler',
        seed: 3,
        controls: [
          { model: 'canny', image: solid(W, H, [51, 51, 51]), scale: 1 }, // mean 0.2
          { model: 'canny', image: solid(W, H, [204, 204, 204]), scale: 0.5 }, // mean 0.8
        ],
        returnLatents: true,
      });
      let coef = 0;
      for (let i = 0; i <= CONTROL_LEVELS.length; i++) coef += controlCoefficient(i);
      const q = psnr(r.images[0].latents!, expectedLatents(PROMPT, NEG, 7.5, (1 * 0.2 + 0.5 * 0.8) * coef));
      expect(q).toBeGreaterThanOrEqual(40);
    } finally {
      await p.close();
    }
  });

  it('9-channel inpainting UNet: mask region gets the target, the rest the masked image latents', async () => {
    const dir = path.join(root, 'inpaint');
    writeFixtureSdModel(dir, { inpaint: true });
    const p = SdPipeline.open(dir, { providers: ['cpu'] });
    try {
      const mask = solid(W, H, [0, 0, 0]);
      for (let y = 0; y < H / 2; y++) mask.data.fill(255, y * W * 3, (y + 1) * W * 3); // top half repaints
      const rgb: [number, number, number] = [40, 160, 220];
      const r = await p.generate({
        prompt: PROMPT,
        negativePrompt: NEG,
        width: W,
        height: H,
        steps: 10,
        sampler: 'euler',
        seed: 1,
        initImage: solid(W, H, rgb),
        mask,
        returnLatents: true,
      });
      expect(r.metadata.inpainting).toBe('unet');
      const z = r.images[0].latents!;
      const target = expectedLatents(PROMPT, NEG, 7.5);
      const px = rgb.map((v) => v / 127.5 - 1);
      let maxIn = 0;
      let maxOut = 0;
      for (let c = 0; c < 4; c++)
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++) {
            const k = (c * h + y) * w + x;
            if (y < h / 2) maxIn = Math.max(maxIn, Math.abs(z[k] - target[k]));
            else {
              const m =
                SCALING * (VAE_ENCODE[c][0] * px[0] + VAE_ENCODE[c][1] * px[1] + VAE_ENCODE[c][2] * px[2]);
              maxOut = Math.max(maxOut, Math.abs(z[k] - m));
            }
          }
      expect(maxIn).toBeLessThan(1e-3);
      expect(maxOut).toBeLessThan(1e-3);
      await expect(p.generate({ prompt: 'x', width: W, height: H, steps: 2 })).rejects.toMatchObject({
        code: 'mask_required',
      });
    } finally {
      await p.close();
    }
  });
});
