import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  externalize,
  float,
  fromFloat16Bits,
  GraphBuilder,
  parse,
  toFloat16Bits,
} from '../../models/fixtures/graph.ts';
import { OnnxSession } from '../../models/onnx.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'fc-graph-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fixture graph builder', () => {
  it('builds a model with dynamic axes that ONNX Runtime runs', async () => {
    const g = new GraphBuilder('affine');
    const x = g.input('x', 'float32', ['batch', 3]);
    const y = g.op('Add', [g.op('Mul', [x, g.constF32([2, 3, 4])]), g.constF32([1])]);
    g.output(y, 'y', 'float32', ['batch', 3]);
    const s = await OnnxSession.create(g.toBytes(), { name: 'affine' });
    expect(s.inputs[0]).toEqual({ name: 'x', type: 'float32', shape: ['batch', 3] });
    const out = await s.run({
      x: { type: 'float32', data: new Float32Array([1, 1, 1, 0, 1, 2]), dims: [2, 3] },
    });
    expect(Array.from(out.y.data as Float32Array)).toEqual([3, 4, 5, 1, 4, 9]);
    await s.dispose();
  });

  it('treats whole numbers as INT attributes unless wrapped with float()', () => {
    const g = new GraphBuilder('attrs');
    const x = g.input('x', 'float32', [2]);
    g.output(g.op('LeakyRelu', [x], { alpha: float(1) }), 'y', 'float32', [2]);
    const m = parse(g.toBytes());
    const a = m.graph!.node![0].attribute![0];
    expect(a.f).toBe(1);
    expect(a.type).toBe(1); // FLOAT
  });

  it('converts float16 like IEEE (known bit patterns)', () => {
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(1e6)).toBe(0x7c00);
    expect(toFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(toFloat16Bits(0.1)).toBe(0x2e66);
    expect(fromFloat16Bits(0x2e66)).toBeCloseTo(0.0999755859375, 12);
  });

  it('writes large initializers to an external data file that ONNX Runtime loads by path', async () => {
    const g = new GraphBuilder('ext');
    const x = g.input('x', 'float32', [4]);
    const w = g.constF32([10, 20, 30, 40]);
    const b = g.constF32(new Float32Array(2048).fill(0.5), [2048]);
    const sumB = g.op('ReduceSum', [b], { keepdims: 0 });
    g.output(g.op('Add', [g.op('Mul', [x, w]), sumB]), 'y', 'float32', [4]);
    const { model, data } = externalize(g.toModel(), 'weights.pb', 16);
    expect(data.length).toBeGreaterThan(8192);
    writeFileSync(path.join(dir, 'model.onnx'), model);
    writeFileSync(path.join(dir, 'weights.pb'), data);
    const s = await OnnxSession.create(path.join(dir, 'model.onnx'), { name: 'ext' });
    const out = await s.run({ x: { type: 'float32', data: new Float32Array([1, 2, 3, 4]), dims: [4] } });
    expect(Array.from(out.y.data as Float32Array)).toEqual([1034, 1064, 1114, 1184]);
    await s.dispose();
  });
});
