/**
 * LoRA merge on fixture models run by ONNX Runtime: a merged model's output must equal the output
 * of a reference model whose weights were merged independently (float64 loops in the fixture), and
 * for a single linear layer it must equal base output + x·ΔWᵀ computed separately.
 */
import { describe, expect, it } from 'vitest';
import { type Lora, loraFromSafetensors } from '../../core/lora/lora.ts';
import { jsAdder } from '../../core/lora/lowrank.ts';
import { mergeLorasIntoModel } from '../../core/lora/merge.ts';
import { parseSafetensors } from '../../core/lora/safetensors.ts';
import { LoraSwitcher } from '../../core/lora/switcher.ts';
import { graph, initializer, model, node, serialize, valueInfo } from '../../models/fixtures/graph.ts';
import {
  buildTextEncoderFixture,
  buildUnetFixture,
  type FixtureLoraFormat,
  type FixtureModel,
  makeLoraFile,
  randomArray,
  referenceMerge,
} from '../../models/fixtures/lora-fixtures.ts';
import { OnnxSession, type Tensor } from '../../models/onnx.ts';
import { OnnxModel } from '../../models/onnx-edit.ts';

function feedsFor(m: FixtureModel, seed = 3): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  let s = seed;
  for (const [name, dims] of Object.entries(m.inputs)) {
    out[name] = {
      type: 'float32',
      data: randomArray(
        dims.reduce((a, b) => a * b, 1),
        s++,
      ),
      dims,
    };
  }
  return out;
}

async function runBytes(
  bytes: Uint8Array,
  feeds: Record<string, Tensor>,
  output: string,
): Promise<Float32Array> {
  const s = await OnnxSession.create(bytes, { name: 'fixture' });
  try {
    return (await s.run(feeds))[output]!.data as Float32Array;
  } finally {
    await s.dispose();
  }
}

function lora(bytes: Uint8Array, name: string): Lora {
  return loraFromSafetensors(parseSafetensors(bytes, name), name);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Reference model: the fixture rebuilt with every adapted weight replaced by its independent merge. */
function referenceModel(
  build: (o: { override: Map<string, Float32Array> }) => FixtureModel,
  base: FixtureModel,
  loras: { layers: ReturnType<typeof makeLoraFile>['layers']; multiplier: number }[],
): FixtureModel {
  const override = new Map<string, Float32Array>();
  for (const layer of base.layers) {
    const uses = loras.flatMap(({ layers, multiplier }) =>
      layers.filter((l) => l.module === layer.module).map((l) => ({ l, multiplier })),
    );
    if (uses.length)
      override.set(layer.initializer, referenceMerge(base.weights.get(layer.initializer)!, layer, uses));
  }
  return build({ override });
}

describe('LoRA merge into ONNX weights', () => {
  it('maps renamed transposed MatMul weights, Gemm and Conv weights to module paths', () => {
    const base = buildUnetFixture();
    const targets = OnnxModel.fromBytes(base.bytes).weightTargets();
    for (const l of base.layers) {
      const t = targets.find((x) => x.initializer === l.initializer);
      expect(t, l.module).toMatchObject({ module: l.module, transposed: l.transposed });
    }
    expect(targets.find((t) => t.initializer === 'onnx::MatMul_906')).toMatchObject({
      module: 'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k',
      inFeatures: 6,
      outFeatures: 8,
    });
  });

  it('single linear layer: merged(x) = base(x) + x·ΔWᵀ with ΔW computed separately', async () => {
    const IN = 5;
    const OUT = 7;
    const w = randomArray(IN * OUT, 11);
    const g = graph({
      name: 'linear',
      nodes: [
        node(
          'MatMul',
          ['x', 'onnx::MatMul_77'],
          ['y'],
          {},
          '/mid_block/attentions.0/transformer_blocks.0/attn2/to_v/MatMul',
        ),
      ],
      inputs: [valueInfo('x', 'float32', [3, IN])],
      outputs: [valueInfo('y', 'float32', [3, OUT])],
      initializers: [initializer('onnx::MatMul_77', 'float32', [IN, OUT], w)],
    });
    const bytes = serialize(model(g));
    const layer = {
      module: 'mid_block.attentions.0.transformer_blocks.0.attn2.to_v',
      initializer: 'onnx::MatMul_77',
      transposed: true,
      inFeatures: IN,
      outFeatures: OUT,
      conv: false,
      dims: [IN, OUT],
    };
    const file = makeLoraFile('kohya', [layer], { rank: 3, alpha: 12 });
    const x = randomArray(3 * IN, 5);
    const feeds = { x: { type: 'float32' as const, data: x, dims: [3, IN] } };
    const baseOut = await runBytes(bytes, feeds, 'y');
    const m = OnnxModel.fromBytes(bytes);
    const report = await mergeLorasIntoModel(m, 'unet', [
      { lora: lora(file.bytes, 'style'), multiplier: 0.8 },
    ]);
    expect(report.matched).toHaveLength(1);
    const merged = await runBytes(m.toBytes(), feeds, 'y');
    // Independent delta: ΔW[o][i] = 0.8 · (12/3) · Σ_r up[o][r]·down[r][i]; y_delta[n][o] = Σ_i x[n][i]·ΔW[o][i].
    const { up, down } = file.layers[0]!;
    for (let n = 0; n < 3; n++)
      for (let o = 0; o < OUT; o++) {
        let d = 0;
        for (let i = 0; i < IN; i++) {
          let dw = 0;
          for (let r = 0; r < 3; r++) dw += up[o * 3 + r]! * down[r * IN + i]!;
          d += x[n * IN + i]! * 0.8 * 4 * dw;
        }
        expect(merged[n * OUT + o]).toBeCloseTo(baseOut[n * OUT + o]! + d, 5);
      }
    // And the delta is not negligible, so a no-op merge could not pass.
    expect(maxAbsDiff(merged, baseOut)).toBeGreaterThan(0.05);
  });

  for (const [format, adderName] of [
    ['kohya', 'gemm'],
    ['peft', 'gemm'],
    ['diffusers-attn', 'gemm'],
    ['kohya', 'js'],
  ] as [FixtureLoraFormat, string][]) {
    it(`UNet fixture, ${format} keys (${adderName} delta): merged output equals the independently merged reference`, async () => {
      const base = buildUnetFixture();
      const file = makeLoraFile(format, base.layers, { rank: 2, seed: 3 });
      const feeds = feedsFor(base);
      const m = OnnxModel.fromBytes(base.bytes);
      const report = await mergeLorasIntoModel(
        m,
        'unet',
        [{ lora: lora(file.bytes, format), multiplier: 0.95 }],
        adderName === 'js' ? jsAdder : undefined,
      );
      expect(report.unmatched).toEqual([]);
      expect(report.matched).toHaveLength(file.layers.length);
      const got = await runBytes(m.toBytes(), feeds, base.output);
      const want = await runBytes(
        referenceModel(buildUnetFixture, base, [{ layers: file.layers, multiplier: 0.95 }]).bytes,
        feeds,
        base.output,
      );
      const baseOut = await runBytes(base.bytes, feeds, base.output);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
      expect(maxAbsDiff(got, baseOut)).toBeGreaterThan(1e-2);
    });
  }

  it('merges a face LoRA and a style LoRA at once (0.95 + 0.25) and reports unmatched keys', async () => {
    const base = buildUnetFixture();
    const attn = base.layers.filter((l) => /attn\d\.to_/.test(l.module));
    const face = makeLoraFile('diffusers-attn', attn, { rank: 4, seed: 5 });
    const stray = {
      module: 'up_blocks.3.attentions.2.transformer_blocks.0.attn1.to_q',
      initializer: '',
      transposed: true,
      inFeatures: 8,
      outFeatures: 8,
      conv: false,
      dims: [8, 8],
    };
    const style = makeLoraFile('kohya', [...base.layers, stray], { rank: 2, seed: 9, alpha: 1 });
    const m = OnnxModel.fromBytes(base.bytes);
    const report = await mergeLorasIntoModel(m, 'unet', [
      { lora: lora(face.bytes, 'face'), multiplier: 0.95 },
      { lora: lora(style.bytes, 'style'), multiplier: 0.25 },
    ]);
    expect(report.unmatched).toEqual([
      'style: lora_unet_up_blocks_3_attentions_2_transformer_blocks_0_attn1_to_q',
    ]);
    const feeds = feedsFor(base);
    const want = referenceModel(buildUnetFixture, base, [
      { layers: face.layers, multiplier: 0.95 },
      { layers: style.layers.filter((l) => l.module !== stray.module), multiplier: 0.25 },
    ]);
    expect(
      maxAbsDiff(
        await runBytes(m.toBytes(), feeds, base.output),
        await runBytes(want.bytes, feeds, base.output),
      ),
    ).toBeLessThan(1e-4);
  });

  it('merges text-encoder layers of a kohya LoRA into the text encoder only', async () => {
    const te = buildTextEncoderFixture();
    const unetLayers = buildUnetFixture().layers;
    const teFile = makeLoraFile('kohya', te.layers, { component: 'text_encoder', seed: 4 });
    const unetFile = makeLoraFile('kohya', unetLayers, { seed: 4 });
    const { encodeSafetensors } = await import('../../core/lora/safetensors.ts');
    // One file with both components, as kohya writes it.
    const both = parseSafetensors(teFile.bytes);
    const u = parseSafetensors(unetFile.bytes);
    const tensors: Parameters<typeof encodeSafetensors>[0] = {};
    for (const f of [both, u])
      for (const [k, t] of f.tensors) tensors[k] = { dtype: 'F32', shape: t.shape, data: f.float32(k) };
    const l = loraFromSafetensors(parseSafetensors(encodeSafetensors(tensors)), 'both');
    const m = OnnxModel.fromBytes(te.bytes);
    const report = await mergeLorasIntoModel(m, 'text_encoder', [{ lora: l, multiplier: 0.5 }]);
    expect(report.matched).toHaveLength(2);
    expect(report.otherComponents).toBe(unetLayers.length);
    expect(report.unmatched).toEqual([]);
    const feeds = feedsFor(te);
    const want = referenceModel(buildTextEncoderFixture, te, [{ layers: teFile.layers, multiplier: 0.5 }]);
    expect(
      maxAbsDiff(await runBytes(m.toBytes(), feeds, te.output), await runBytes(want.bytes, feeds, te.output)),
    ).toBeLessThan(1e-5);
  });

  it('refuses a LoRA whose layers have the wrong shape or match nothing', async () => {
    const base = buildUnetFixture();
    const wrong = makeLoraFile('kohya', [{ ...base.layers[1]!, inFeatures: 16 }]);
    await expect(
      mergeLorasIntoModel(OnnxModel.fromBytes(base.bytes), 'unet', [
        { lora: lora(wrong.bytes, 'xl'), multiplier: 1 },
      ]),
    ).rejects.toThrow(/made for a different base model/);
    const elsewhere = makeLoraFile('kohya', [{ ...base.layers[1]!, module: 'input_blocks.1.0.in_layers.2' }]);
    await expect(
      mergeLorasIntoModel(OnnxModel.fromBytes(base.bytes), 'unet', [
        { lora: lora(elsewhere.bytes, 'ldm'), multiplier: 1 },
      ]),
    ).rejects.toThrow(/None of the 1 unet layers/);
  });

  it('merges into float16 weights and into a model with external data', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const half = buildUnetFixture({ dtype: 'float16' });
    const file = makeLoraFile('peft', half.layers, { seed: 2 });
    const m = OnnxModel.fromBytes(half.bytes);
    await mergeLorasIntoModel(m, 'unet', [{ lora: lora(file.bytes, 'p'), multiplier: 1 }]);
    const init = half.layers[0]!.initializer;
    const got = m.readFloat32(init);
    const want = referenceMerge(OnnxModel.fromBytes(half.bytes).readFloat32(init), half.layers[0]!, [
      { l: file.layers[0]!, multiplier: 1 },
    ]);
    expect(maxAbsDiff(got, want)).toBeLessThan(2e-3); // one half-precision rounding

    const dir = await mkdtemp(path.join(os.tmpdir(), 'fc-ext-'));
    try {
      const base = buildUnetFixture();
      const saved = await OnnxModel.fromBytes(base.bytes).save(dir, 64);
      const ext = OnnxModel.fromFile(saved);
      expect((ext.proto.graph?.initializer ?? []).some((t) => t.dataLocation === 1)).toBe(true);
      const f2 = makeLoraFile('kohya', base.layers, { seed: 8 });
      await mergeLorasIntoModel(ext, 'unet', [{ lora: lora(f2.bytes, 'k'), multiplier: 0.6 }]);
      const out = await ext.save(path.join(dir, 'merged'), 64);
      const feeds = feedsFor(base);
      const s = await OnnxSession.create(out);
      const got2 = (await s.run(feeds))[base.output]!.data as Float32Array;
      await s.dispose();
      const want2 = referenceModel(buildUnetFixture, base, [{ layers: f2.layers, multiplier: 0.6 }]);
      expect(maxAbsDiff(got2, await runBytes(want2.bytes, feeds, base.output))).toBeLessThan(1e-4);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('LoRA apply/revert in place (switcher)', () => {
  it('applies, switches and reverts; revert restores the base bit for bit', async () => {
    const base = buildUnetFixture();
    const prepared = LoraSwitcher.prepare(OnnxModel.fromBytes(base.bytes), 'unet', 'transformer');
    const { switcher } = prepared;
    const bytes = prepared.toBytes();
    expect(switcher.footprint.weights).toBe(base.layers.length);
    const session = await OnnxSession.create(bytes, { name: 'switchable' });
    const feeds = feedsFor(base);
    const run = async () =>
      new Float32Array(
        (await session.run({ ...feeds, ...switcher.feeds() }))[base.output]!.data as Float32Array,
      );
    try {
      const baseOut = await runBytes(base.bytes, feeds, base.output);
      const before = await run();
      // Weights fed as inputs are not pre-packed by ONNX Runtime: same values, float-rounding-level difference.
      expect(maxAbsDiff(before, baseOut)).toBeLessThan(1e-5);
      const snapshot = new Map(
        Object.entries(switcher.feeds()).map(([k, t]) => [k, new Float32Array(t.data as Float32Array)]),
      );

      const a = makeLoraFile('kohya', base.layers, { seed: 21 });
      const b = makeLoraFile('peft', base.layers, { seed: 22 });
      await switcher.apply([{ lora: lora(a.bytes, 'a'), multiplier: 0.95 }]);
      const wantA = await runBytes(
        referenceModel(buildUnetFixture, base, [{ layers: a.layers, multiplier: 0.95 }]).bytes,
        feeds,
        base.output,
      );
      expect(maxAbsDiff(await run(), wantA)).toBeLessThan(1e-4);

      await switcher.apply([{ lora: lora(b.bytes, 'b'), multiplier: 0.3 }]); // switch: a is reverted first
      const wantB = await runBytes(
        referenceModel(buildUnetFixture, base, [{ layers: b.layers, multiplier: 0.3 }]).bytes,
        feeds,
        base.output,
      );
      expect(maxAbsDiff(await run(), wantB)).toBeLessThan(1e-4);

      switcher.revert();
      for (const [k, t] of Object.entries(switcher.feeds())) {
        const now = new Uint8Array((t.data as Float32Array).buffer);
        expect(Buffer.compare(Buffer.from(now), Buffer.from(new Uint8Array(snapshot.get(k)!.buffer)))).toBe(
          0,
        );
      }
      expect(maxAbsDiff(await run(), before)).toBe(0);
    } finally {
      await session.dispose();
    }
  });

  it('reports layers outside the switchable scope', async () => {
    const base = buildUnetFixture();
    const { switcher } = LoraSwitcher.prepare(OnnxModel.fromBytes(base.bytes), 'unet', 'attention');
    const file = makeLoraFile('kohya', base.layers, { seed: 1 });
    const r = await switcher.apply([{ lora: lora(file.bytes, 'all'), multiplier: 1 }]);
    expect(r.notSwitchable.sort()).toEqual(
      [
        'all: lora_unet_down_blocks_0_attentions_0_proj_in',
        'all: lora_unet_down_blocks_0_attentions_0_proj_out',
        'all: lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_ff_net_2',
      ].sort(),
    );
    expect(r.matched).toHaveLength(8);
  });
});

describe('LoRA switcher on float16 weights', () => {
  it('applies within half-precision rounding and reverts bit for bit', async () => {
    const half = buildUnetFixture({ dtype: 'float16' });
    const { switcher } = LoraSwitcher.prepare(OnnxModel.fromBytes(half.bytes), 'unet', 'transformer');
    const before = Object.fromEntries(
      Object.entries(switcher.feeds()).map(([k, t]) => [k, Uint16Array.from(t.data as Uint16Array)]),
    );
    expect(Object.values(switcher.feeds())[0]!.type).toBe('float16');
    const file = makeLoraFile('kohya', half.layers, { seed: 13 });
    await switcher.apply([{ lora: lora(file.bytes, 'h'), multiplier: 0.8 }]);
    const l = half.layers[0]!;
    const { halvesToFloat32 } = await import('../../models/half.ts');
    const live = switcher.feeds()[l.initializer]!.data as Uint16Array;
    const got = halvesToFloat32(new Uint8Array(live.buffer, live.byteOffset, live.byteLength));
    const base = halvesToFloat32(new Uint8Array(before[l.initializer]!.buffer));
    const want = referenceMerge(base, l, [
      { l: file.layers.find((x) => x.module === l.module)!, multiplier: 0.8 },
    ]);
    expect(maxAbsDiff(got, want)).toBeLessThan(2e-3);
    expect(maxAbsDiff(got, base)).toBeGreaterThan(1e-2);
    switcher.revert();
    for (const [k, t] of Object.entries(switcher.feeds())) expect(t.data).toEqual(before[k]);
  });
});

describe('LoRA switcher on a model with external weights', () => {
  it('saves the switchable model with weights.pb and runs it by path', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fc-switch-ext-'));
    try {
      const base = buildUnetFixture();
      const ext = OnnxModel.fromFile(await OnnxModel.fromBytes(base.bytes).save(path.join(dir, 'base'), 64));
      const prepared = LoraSwitcher.prepare(ext, 'unet', 'attention');
      const file = await prepared.save(path.join(dir, 'switchable'));
      const session = await OnnxSession.create(file);
      const file2 = makeLoraFile('kohya', base.layers, { seed: 5 });
      await prepared.switcher.apply([{ lora: lora(file2.bytes, 'k'), multiplier: 0.5 }]);
      const feeds = feedsFor(base);
      const got = (await session.run({ ...feeds, ...prepared.switcher.feeds() }))[base.output]!
        .data as Float32Array;
      await session.dispose();
      const attn = file2.layers.filter((l) => /attn\d\.to_/.test(l.module));
      const want = referenceModel(buildUnetFixture, base, [{ layers: attn, multiplier: 0.5 }]);
      expect(maxAbsDiff(got, await runBytes(want.bytes, feeds, base.output))).toBeLessThan(1e-4);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
