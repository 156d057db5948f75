import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../base/errors.ts';
import { config } from '../../core/config.ts';
import { type ModelManifest, parseManifest } from '../../models/manifest.ts';
import { OnnxSession } from '../../models/onnx.ts';
import { ModelStore } from '../../models/store.ts';

let dir: string;
const payload = Buffer.from('not really a model, but bytes with a known digest');
const digest = createHash('sha256').update(payload).digest('hex');

function manifest(id: string, source: string, sha = digest): ModelManifest {
  return parseManifest(
    {
      id,
      task: 'test',
      files: [{ name: 'model.onnx', source, sha256: sha, size: payload.length }],
      licence: { spdx: 'MIT' },
    },
    id,
  );
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fc-store-'));
  await writeFile(path.join(dir, 'src.bin'), payload);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('model store', () => {
  it('fetches a file: source once, verifies it, and returns its path', async () => {
    const m = manifest('local', `file:${path.join(dir, 'src.bin')}`);
    const store = new ModelStore(path.join(dir, 'cache'), new Map([[m.id, m]]));
    await expect(store.path('local')).rejects.toThrow(/not installed.*facechain models fetch local/);
    const res = await store.fetch(['local']);
    expect(res[0]!.state).toBe('ok');
    const p = await store.path('local');
    expect(await readFile(p)).toEqual(payload);
  });

  it('names the model, the file and the fix when a cached file is corrupt', async () => {
    const m = manifest('corrupt', `file:${path.join(dir, 'src.bin')}`);
    const store = new ModelStore(path.join(dir, 'cache2'), new Map([[m.id, m]]));
    await store.fetch(['corrupt']);
    const p = store.filePath('corrupt');
    const bytes = Buffer.from(payload);
    bytes[0] ^= 0xff;
    await writeFile(p, bytes);
    const err = await store.path('corrupt').catch((e) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(err.code).toBe('model_corrupt');
    expect(err.message).toMatch(/"corrupt".*"model\.onnx".*sha256.*facechain models fetch corrupt/);
    // fetch repairs it
    await store.fetch(['corrupt']);
    await expect(new ModelStore(store.cacheDir, store.manifests).path('corrupt')).resolves.toBe(p);
  });

  it('refuses a source whose digest does not match the manifest', async () => {
    const m = manifest('wrong', `file:${path.join(dir, 'src.bin')}`, 'a'.repeat(64));
    const store = new ModelStore(path.join(dir, 'cache3'), new Map([[m.id, m]]));
    await expect(store.fetch(['wrong'])).rejects.toMatchObject({ code: 'model_checksum' });
    expect((await store.status('wrong'))[0]!.state).toBe('missing');
  });

  it('rejects malformed manifests with the field named', () => {
    expect(() =>
      parseManifest({ id: 'x', task: 't', files: [], licence: { spdx: 'MIT' } }, 'x.json'),
    ).toThrow(/files/);
    expect(() => manifest('bad', 'ftp://host/file')).toThrow(/source must start/);
    expect(() => new ModelStore(dir, new Map()).manifest('nope')).toThrow(/no model "nope"/);
  });

  it('has every built-in model of the default set installed and verified', async () => {
    const store = new ModelStore(config().modelsDir);
    for (const id of store.defaultIds()) {
      const states = await store.status(id);
      expect(states.map((s) => s.state)).toEqual(states.map(() => 'ok'));
    }
  });
});

describe('ONNX session wrapper', () => {
  it('checks manifest inputs at load time and feeds at run time, naming each input', async () => {
    const store = new ModelStore(config().modelsDir);
    const m = store.manifest('face-eye');
    const s = await OnnxSession.create(await store.path('face-eye'), {
      name: m.id,
      expectInputs: m.inputs,
      expectOutputs: m.outputs,
    });
    const out = await s.run({
      input: { type: 'float32', data: new Float32Array(24 * 24).fill(0.5), dims: [1, 1, 24, 24] },
    });
    expect(out.output!.dims).toEqual([1, 2]);
    const err = await s
      .run({ input: { type: 'float32', data: new Float32Array(32 * 32), dims: [1, 1, 32, 32] } })
      .catch((e) => e);
    expect(err.code).toBe('model_input');
    expect(err.message).toContain('input input has dims [1, 1, 32, 32], expected [1, 1, 24, 24]');
    await expect(s.run({})).rejects.toThrow(/missing input input/);
    await expect(
      OnnxSession.create(await store.path('face-eye'), {
        name: 'face-eye',
        expectInputs: [{ name: 'image', type: 'float32', shape: [1, 3, 24, 24] }],
      }),
    ).rejects.toThrow(
      /expected input image: float32 \[1, 3, 24, 24\], the model has input: float32 \[1, 1, 24, 24\]/,
    );
    await s.dispose();
  });

  it('reports a file that is not a model', async () => {
    const p = path.join(dir, 'garbage.onnx');
    await writeFile(p, 'garbage');
    await expect(OnnxSession.create(p, { name: 'garbage' })).rejects.toMatchObject({ code: 'model_load' });
  });
});
