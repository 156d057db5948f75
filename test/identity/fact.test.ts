/** FACT wiring on fixture models: encoder → projector → face tokens → UNet extra inputs. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADAPTER_SCALE_INPUT,
  FACE_TOKENS_INPUT,
  FactEncoder,
  faceInput,
  factModelIds,
  factUnetFeeds,
} from '../../core/fact/encoder.ts';
import {
  buildBaseUnetFixture,
  buildFaceEncoderFixture,
  buildFactUnetFixture,
  buildProjectorFixture,
  FACT_UNET_DIMS,
} from '../../models/fixtures/fact-fixtures.ts';
import { randomArray } from '../../models/fixtures/lora-fixtures.ts';
import { OnnxSession, type Tensor } from '../../models/onnx.ts';

function crop(seed: number): Uint8Array {
  return Uint8Array.from(randomArray(112 * 112 * 3, seed), (v) => Math.round((v + 1) * 127.5));
}

const { C, H, W, L, D } = FACT_UNET_DIMS;
const f32 = (data: Float32Array, dims: number[]): Tensor => ({ type: 'float32', data, dims });

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('FACT wiring', () => {
  let enc: FactEncoder;
  let projector: OnnxSession;
  let unet: OnnxSession;
  let base: OnnxSession;
  const sample = randomArray(C * H * W, 1);
  const text = randomArray(L * D, 2);
  const negText = randomArray(L * D, 3);

  beforeAll(async () => {
    enc = new FactEncoder(
      await OnnxSession.create(buildFaceEncoderFixture(), { name: 'fact-encoder' }),
      await OnnxSession.create(buildProjectorFixture(), { name: 'fact-projector' }),
    );
    projector = await OnnxSession.create(buildProjectorFixture(), { name: 'projector-direct' });
    unet = await OnnxSession.create(buildFactUnetFixture(), { name: 'fact-unet' });
    base = await OnnxSession.create(buildBaseUnetFixture(), { name: 'base-unet' });
  });
  afterAll(async () => {
    await enc.dispose();
    for (const s of [projector, unet, base]) await s.dispose();
  });

  const runUnet = async (tokens: Float32Array, scale: number, ehs = text) =>
    (
      await unet.run({
        sample: f32(sample, [1, C, H, W]),
        encoder_hidden_states: f32(ehs, [1, L, D]),
        [FACE_TOKENS_INPUT]: f32(tokens, [1, 16, D]),
        [ADAPTER_SCALE_INPUT]: f32(new Float32Array([scale]), [1]),
      })
    ).out_sample!.data as Float32Array;

  it('picks the FACT adapter models of the style base and refuses bases without one', () => {
    expect(factModelIds('sd15-film')).toEqual({
      encoder: 'fact-face-encoder',
      projector: 'fact-projector-film',
      unet: 'fact-unet-film',
    });
    expect(factModelIds('sd15-majicmix-realistic-v6').unet).toBe('fact-unet-majicmix');
    expect(() => factModelIds('sdxl-base')).toThrow(
      /FACT has adapters for sd15-film and sd15-majicmix-realistic-v6 only/,
    );
  });

  it('normalises the aligned crop to [-1, 1] in CHW order and refuses other sizes', () => {
    const rgb = new Uint8Array(112 * 112 * 3);
    rgb[0] = 255; // R of pixel 0
    rgb[4] = 0; // G of pixel 1
    const x = faceInput(rgb);
    expect(x[0]).toBe(1);
    expect(x[112 * 112 + 1]).toBe(-1);
    expect(x[1]).toBe(-1);
    expect(() => faceInput(new Uint8Array(10))).toThrow(/aligned 112×112 RGB face crop/);
  });

  it('turns one photo into 16×768 face tokens; several photos average the encoder features', async () => {
    const one = await enc.faceTokens([crop(10)]);
    expect(one.data).toHaveLength(16 * 768);
    expect(one.photos).toBe(1);
    const a = await enc.features(crop(10));
    const b = await enc.features(crop(11));
    expect(a).toHaveLength(144 * 512);
    const mean = a.map((v, i) => (v + b[i]!) / 2);
    const both = await enc.faceTokens([crop(10), crop(11)]);
    expect(maxDiff(both.data, await enc.project(mean))).toBeLessThan(1e-6);
    expect(maxDiff(both.data, one.data)).toBeGreaterThan(1e-3);
  });

  it('adapter scale 0 gives the base UNet output exactly', async () => {
    const baseOut = (
      await base.run({ sample: f32(sample, [1, C, H, W]), encoder_hidden_states: f32(text, [1, L, D]) })
    ).out_sample!.data as Float32Array;
    const tokens = (await enc.faceTokens([crop(20)])).data;
    const out = await runUnet(tokens, 0);
    expect(maxDiff(out, baseOut)).toBe(0);
  });

  it('face tokens change the output, more with a larger scale', async () => {
    const t1 = (await enc.faceTokens([crop(30)])).data;
    const t2 = (await enc.faceTokens([crop(31)])).data;
    const zero = await runUnet(t1, 0);
    const half1 = await runUnet(t1, 0.5);
    const half2 = await runUnet(t2, 0.5);
    const full1 = await runUnet(t1, 1);
    expect(maxDiff(half1, zero)).toBeGreaterThan(1e-3);
    expect(maxDiff(half1, half2)).toBeGreaterThan(1e-4);
    expect(maxDiff(full1, zero)).toBeGreaterThan(maxDiff(half1, zero));
  });

  it('with guidance, the unconditional rows get the projector applied to zeros', async () => {
    const cond = (await enc.faceTokens([crop(40)])).data;
    const uncond = await enc.zeroFaceTokens();
    const direct = (await projector.run({ features: f32(new Float32Array(144 * 512), [1, 144, 512]) }))
      .face_tokens!.data as Float32Array;
    expect(maxDiff(uncond, direct)).toBe(0);
    expect(maxDiff(uncond, new Float32Array(uncond.length))).toBeGreaterThan(0.1); // not trivially zero
    const feeds = factUnetFeeds({ cond, uncond, images: 1, guidance: true, scale: 0.5 });
    expect(feeds[FACE_TOKENS_INPUT]!.dims).toEqual([2, 16, 768]);
    const batch = (
      await unet.run({
        sample: f32(Float32Array.from([...sample, ...sample]), [2, C, H, W]),
        encoder_hidden_states: f32(Float32Array.from([...negText, ...text]), [2, L, D]),
        ...feeds,
      })
    ).out_sample!.data as Float32Array;
    const n = C * H * W;
    expect(maxDiff(batch.subarray(0, n), await runUnet(direct, 0.5, negText))).toBeLessThan(1e-6);
    expect(maxDiff(batch.subarray(n), await runUnet(cond, 0.5, text))).toBeLessThan(1e-6);
    const noCfg = factUnetFeeds({ cond, images: 2, guidance: false, scale: 0.5 });
    expect(noCfg[FACE_TOKENS_INPUT]!.dims).toEqual([2, 16, 768]);
    expect(() => factUnetFeeds({ cond, images: 1, guidance: true, scale: 0.5 })).toThrow(/zero-face tokens/);
    expect(() => factUnetFeeds({ cond, uncond, images: 1, guidance: true, scale: 7 })).toThrow(
      /out of range/,
    );
  });
});

describe('FACT face input from a real photo', () => {
  it('cuts the same aligned crop the recognition embedding uses, and encodes it', async () => {
    const { readFile } = await import('node:fs/promises');
    const { config } = await import('../../core/config.ts');
    const { ModelStore } = await import('../../models/store.ts');
    const { FaceAnalyzer } = await import('../../core/face/analyzer.ts');
    const { decodeImage } = await import('../../core/image/codec.ts');
    const { embedAligned, cosine } = await import('../../core/face/embedding.ts');
    const { alignedFaceCrop } = await import('../../core/fact/crop.ts');
    const store = new ModelStore(config().modelsDir);
    const analyzer = await FaceAnalyzer.load(store);
    const embedder = await OnnxSession.create(await store.path('face-embedding'), { name: 'face-embedding' });
    const enc = new FactEncoder(
      await OnnxSession.create(buildFaceEncoderFixture()),
      await OnnxSession.create(buildProjectorFixture()),
    );
    try {
      const img = await decodeImage(await readFile('test/fixtures/faces/astronaut.png'));
      const d = await analyzer.analyzeDetailed(img, { embedding: true });
      const face = d.analysis.faces[0]!;
      const rgb = alignedFaceCrop(d, face);
      expect(rgb).toHaveLength(112 * 112 * 3);
      // Same pixels as the analyzer's own aligned crop: the embeddings agree.
      expect(cosine(await embedAligned(embedder, rgb), face.embedding!)).toBeGreaterThan(0.999);
      const tokens = await enc.faceTokens([rgb]);
      expect(tokens.data.every(Number.isFinite)).toBe(true);
    } finally {
      await analyzer.dispose();
      await embedder.dispose();
      await enc.dispose();
    }
  });
});
