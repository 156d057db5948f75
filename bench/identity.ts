/**
 * Identity/style switching cost with Stable Diffusion 1.5's real layer shapes.
 *
 *   node bin/run-ts.js bench/identity.ts [--scope attention|transformer] [--style-rank 32]
 *
 * Builds (in memory, not committed) an ONNX model holding every SD 1.5 UNet layer a LoRA adapts
 * (the 16 transformer blocks: q/k/v/out of self- and cross-attention, 320/640/1280 wide, cross-
 * attention k/v reading 768-wide text states; with --scope transformer also proj_in/out and the
 * feed-forward), exported the way torch.onnx does (transposed `onnx::MatMul_<n>` weights named by
 * node scope). Then measures the two ways to switch identity/style per request:
 *   - apply/revert in place: weights lifted to inputs, deltas added into the live buffers;
 *   - merge + new session (what the merged-session cache pays on a miss; a hit costs nothing).
 * LoRAs: a FaceChain face LoRA (rank 4, attention only, multiplier 0.95) and a style LoRA
 * (rank 32 by default, all layers in scope, multiplier 0.25).
 * Figures depend on the machine; other work sharing the cores depresses them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { type Lora, loraFromSafetensors } from '../core/lora/lora.ts';
import { jsAdder } from '../core/lora/lowrank.ts';
import { mergeLorasIntoModel } from '../core/lora/merge.ts';
import { MergedFolderCache } from '../core/lora/merged-folder.ts';
import { encodeSafetensors, parseSafetensors, type TensorToWrite } from '../core/lora/safetensors.ts';
import { sd15UnetLayers } from '../core/lora/sd15.ts';
import { LoraSwitcher } from '../core/lora/switcher.ts';
import { randomArray } from '../models/fixtures/lora-fixtures.ts';
import { OnnxSession, type Tensor } from '../models/onnx.ts';
import { OnnxModel, type WeightTarget } from '../models/onnx-edit.ts';

const { onnx } = onnxProto;
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const scope = arg('--scope', 'attention') as 'attention' | 'transformer';
const styleRank = Number(arg('--style-rank', '32'));

const mb = (n: number) => `${(n / 1048576).toFixed(0)} MB`;
const rss = () => mb(process.memoryUsage().rss);
async function timed<T>(label: string, f: () => T | Promise<T>, note = ''): Promise<T> {
  const t = performance.now();
  const r = await f();
  console.log(
    `${label.padEnd(48)} ${(performance.now() - t).toFixed(0).padStart(7)} ms   rss ${rss()}${note ? `   ${note}` : ''}`,
  );
  return r;
}

function torchScope(module: string): string {
  return `/${module.replace(/\.(?!\d)/g, '/')}`;
}

/** One MatMul per layer on an input of its width, each reduced to a scalar, all summed: nothing is dead code. */
function buildModel(layers: WeightTarget[]): Uint8Array {
  const inits: onnxProto.onnx.ITensorProto[] = [];
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const widths = [...new Set(layers.map((l) => l.inFeatures))];
  const inputs = widths.map((w) => ({
    name: `x${w}`,
    type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: w }] } } },
  }));
  const sums: string[] = [];
  layers.forEach((l, i) => {
    const name = `onnx::MatMul_${9000 + i}`;
    const v = randomArray(l.inFeatures * l.outFeatures, i + 1, 0.02);
    inits.push({ name, dataType: 1, dims: [l.inFeatures, l.outFeatures], rawData: new Uint8Array(v.buffer) });
    nodes.push({
      opType: 'MatMul',
      input: [`x${l.inFeatures}`, name],
      output: [`y${i}`],
      name: `${torchScope(l.module)}/MatMul`,
    });
    nodes.push({
      opType: 'ReduceSum',
      input: [`y${i}`],
      output: [`s${i}`],
      attribute: [{ name: 'keepdims', type: 2, i: 0 }],
    });
    sums.push(`s${i}`);
  });
  nodes.push({ opType: 'Sum', input: sums, output: ['total'] });
  const m = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'sd15-lora-layers',
      node: nodes,
      input: inputs,
      output: [{ name: 'total', type: { tensorType: { elemType: 1, shape: { dim: [] } } } }],
      initializer: inits,
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(m)).finish();
}

function makeLora(
  layers: WeightTarget[],
  rank: number,
  alpha: number,
  seed: number,
  name: string,
): { lora: Lora; bytes: number } {
  const t: Record<string, TensorToWrite> = {};
  layers.forEach((l, i) => {
    const k = `lora_unet_${l.flat}`;
    t[`${k}.lora_down.weight`] = {
      dtype: 'F16',
      shape: [rank, l.inFeatures],
      data: randomArray(rank * l.inFeatures, seed + 2 * i, 0.05),
    };
    t[`${k}.lora_up.weight`] = {
      dtype: 'F16',
      shape: [l.outFeatures, rank],
      data: randomArray(rank * l.outFeatures, seed + 2 * i + 1, 0.05),
    };
    t[`${k}.alpha`] = { dtype: 'F32', shape: [], data: new Float32Array([alpha]) };
  });
  const bytes = encodeSafetensors(t);
  return { lora: loraFromSafetensors(parseSafetensors(bytes, name), name), bytes: bytes.byteLength };
}

async function main(): Promise<void> {
  console.log(
    `identity/style switching bench — cores ${os.availableParallelism()} (shared with other work), ORT threads 1, ${os.cpus()[0]?.model}`,
  );
  // In the ONNX graph every layer is a MatMul (proj_in/out are 1×1 convs in SD 1.5; same sizes).
  const layers = sd15UnetLayers(scope).map((l) => ({
    ...l,
    op: 'MatMul',
    transposed: true,
    dims: [l.inFeatures, l.outFeatures],
  }));
  const params = layers.reduce((a, l) => a + l.inFeatures * l.outFeatures, 0);
  console.log(
    `scope ${scope}: ${layers.length} SD 1.5 UNet layers, ${(params / 1e6).toFixed(1)} M weights (${mb(params * 4)} fp32)`,
  );
  const attn = layers.filter((l) => /attn\d\.(to_[qkv]|to_out\.0)$/.test(l.module));

  const bytes = await timed('build model (not part of switching)', () => buildModel(layers));
  const face = await timed('face LoRA rank 4, attention (read+decode)', () =>
    makeLora(attn, 4, 4, 1_000, 'face'),
  );
  console.log(`  face LoRA file ${mb(face.bytes)} (fp16)`);
  const style = await timed(`style LoRA rank ${styleRank} (read+decode)`, () =>
    makeLora(layers, styleRank, styleRank / 2, 50_000, 'style'),
  );
  const style2 = makeLora(layers, styleRank, styleRank / 2, 90_000, 'style2');
  console.log(`  style LoRA file ${mb(style.bytes)} (fp16)`);

  const feeds: Record<string, Tensor> = {};
  for (const w of new Set(layers.map((l) => l.inFeatures)))
    feeds[`x${w}`] = { type: 'float32', data: randomArray(w, w, 1), dims: [1, w] };

  // --- apply/revert in place
  console.log('\napply/revert in place (weights as session inputs)');
  const prepared = await timed('prepare: lift weights to inputs (once)', () =>
    LoraSwitcher.prepare(OnnxModel.fromBytes(bytes), 'unet', scope),
  );
  const sw = prepared.switcher;
  console.log(
    `  switchable weights ${sw.footprint.weights}, extra memory ${mb(sw.footprint.bytes)} (base copy + live copy)`,
  );
  const session = await timed('create switchable session (once)', () =>
    OnnxSession.create(prepared.toBytes(), { name: 'switchable' }),
  );
  const uses = [
    { lora: face.lora, multiplier: 0.95 },
    { lora: style.lora, multiplier: 0.25 },
  ];
  await timed('apply face 0.95 + style 0.25 (JS loops, reference)', () => sw.apply(uses, jsAdder));
  await timed('apply face 0.95 + style 0.25 (ORT GEMM)', () => sw.apply(uses));
  await timed('run (weights fed as inputs)', () => session.run({ ...feeds, ...sw.feeds() }));
  await timed('run again', () => session.run({ ...feeds, ...sw.feeds() }));
  await timed('switch style (revert + apply face + style2)', () =>
    sw.apply([
      { lora: face.lora, multiplier: 0.95 },
      { lora: style2.lora, multiplier: 0.25 },
    ]),
  );
  await timed('apply face only (FaceChain train-based identity)', () =>
    sw.apply([{ lora: face.lora, multiplier: 0.95 }]),
  );
  await timed('revert to base (bit-exact copy back)', () => sw.revert());
  await session.dispose();

  // --- merge + new session
  console.log('\nmerge into weights + new session (merged-session cache miss)');
  const baseSession = await timed('create base session (constant weights)', () =>
    OnnxSession.create(bytes, { name: 'base' }),
  );
  await timed('run (constant weights)', () => baseSession.run(feeds));
  await timed('run again', () => baseSession.run(feeds));
  await baseSession.dispose();
  const model = await timed('decode model (onnx-proto)', () => OnnxModel.fromBytes(bytes));
  await timed('merge face 0.95 + style 0.25', () => mergeLorasIntoModel(model, 'unet', uses));
  const merged = await timed('encode merged model', () => model.toBytes());
  const ms = await timed('create merged session', () => OnnxSession.create(merged, { name: 'merged' }));
  await timed('run merged', () => ms.run(feeds));
  await ms.dispose();
  console.log('cache hit: 0 ms (the merged session is reused); memory per cached combination ≈ model size');

  // --- merged folder on disk (what the generation pipeline can open as a model folder)
  console.log('\nmerged model folder on disk');
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'fc-bench-identity-'));
  try {
    await writeFile(path.join(tmp, 'model_index.json'), '{}');
    await OnnxModel.fromBytes(bytes).save(path.join(tmp, 'base', 'unet'), 1024 * 1024);
    await writeFile(path.join(tmp, 'base', 'model_index.json'), '{}');
    const folders = new MergedFolderCache(path.join(tmp, 'merged'), 1e12);
    await timed('merged folder, cache miss (read, merge, write)', () =>
      folders.get(path.join(tmp, 'base'), uses),
    );
    await timed('merged folder, cache hit', () => folders.get(path.join(tmp, 'base'), uses));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
