/**
 * forget(user) erases the model data derived from the user outside the artifact store: the
 * face-LoRA copy made for merging, merged model folders containing it and uploaded style LoRAs,
 * besides jobs, records and artifacts. Another user's data and shared (style-only) folders stay.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loraFromSafetensors } from '../../core/lora/lora.ts';
import { encodeSafetensors, parseSafetensors, type TensorToWrite } from '../../core/lora/safetensors.ts';
import { sd15UnetLayers } from '../../core/lora/sd15.ts';
import { faceLoraFile, mergedFolders, userModelDirs } from '../../core/lora/user-models.ts';
import { UserStyleStore } from '../../core/lora/user-styles.ts';
import { buildUnetFixture, makeLoraFile } from '../../models/fixtures/lora-fixtures.ts';
import { OnnxModel } from '../../models/onnx-edit.ts';
import { prefixKeys } from '../queue/helpers.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
let dataDir: string;
let base: string;
const A = 'tg-91';
const B = 'tg-92';
const unet = buildUnetFixture();

/** A kohya style LoRA over real SD 1.5 attention layers (what the upload check accepts). */
function styleLora(): Uint8Array {
  const t: Record<string, TensorToWrite> = {};
  for (const l of sd15UnetLayers('attention').slice(0, 4)) {
    const k = `lora_unet_${l.module.replace(/\./g, '_')}`;
    t[`${k}.lora_down.weight`] = {
      dtype: 'F16',
      shape: [4, l.inFeatures],
      data: new Float32Array(4 * l.inFeatures),
    };
    t[`${k}.lora_up.weight`] = {
      dtype: 'F16',
      shape: [l.outFeatures, 4],
      data: new Float32Array(4 * l.outFeatures),
    };
  }
  return encodeSafetensors(t);
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...filesUnder(p));
  }
  return out;
}

const styles = () =>
  new UserStyleStore(userModelDirs(dataDir).userStyles, { maxBytes: 1 << 24, maxPerUser: 5, maxRank: 64 });

/** Everything a user with a trained face LoRA leaves on the data dir after generating. */
async function populate(user: string, seed: number): Promise<{ merged: string; loraFile: string }> {
  const bytes = makeLoraFile('kohya', unet.layers, { seed }).bytes;
  const ref = (await h.producer.artifacts.put(user, bytes, { ext: 'lora' })).ref;
  await h.producer.records.putIdentity(user, {
    id: 'me',
    status: 'trained',
    crops: [],
    lora: ref,
    updatedAt: 1,
  });
  const loraFile = await faceLoraFile(h.producer.artifacts, ref, dataDir);
  const face = loraFromSafetensors(parseSafetensors(readFileSync(loraFile)), `face:${loraFile}`);
  const merged = (await mergedFolders(dataDir).get(base, [{ lora: face, multiplier: 0.95 }])).dir;
  await styles().add(user, styleLora(), { name: 'Mine' });
  return { merged, loraFile };
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'fc-data-'));
  base = path.join(dataDir, 'base');
  await OnnxModel.fromBytes(unet.bytes).save(path.join(base, 'unet'), 64);
  await mkdir(path.join(base, 'tokenizer'), { recursive: true });
  await writeFile(path.join(base, 'model_index.json'), '{}');
  h = await startHarness({ dataDir });
}, 60_000);

afterAll(async () => {
  await h?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('forget erases LoRA-derived data', () => {
  it("removes the user's face-LoRA copy, merged folders with it and uploaded styles; others stay", async () => {
    const a = await populate(A, 41);
    const b = await populate(B, 42);
    const styleOnly = loraFromSafetensors(
      parseSafetensors(makeLoraFile('kohya', unet.layers, { seed: 43 }).bytes),
      'style:pack',
    );
    const shared = (await mergedFolders(dataDir).get(base, [{ lora: styleOnly, multiplier: 0.25 }])).dir;
    expect(statSync(a.loraFile).mode & 0o077).toBe(0); // owner-only
    expect(existsSync(a.merged)).toBe(true);
    expect(await styles().list(A)).toHaveLength(1);

    const receipt = await h.producer.forget(A);
    // artifact (1) + merged folder (1) + face-LoRA folder (1) + uploaded style (1)
    expect(receipt.removed.files).toBeGreaterThanOrEqual(4);
    expect(receipt.stillRunning).toBe(0);

    expect(existsSync(a.merged)).toBe(false);
    expect(existsSync(a.loraFile)).toBe(false);
    expect(await styles().list(A)).toEqual([]);
    // Nothing under the data dir names the user, in paths or in merged-folder markers.
    for (const f of filesUnder(dataDir)) {
      expect(f).not.toContain(A);
      if (f.endsWith('merged.json')) expect(readFileSync(f, 'utf8')).not.toContain(A);
    }
    expect(await h.producer.artifacts.listUser(A)).toEqual([]);
    expect((await prefixKeys(h.opts.redisUrl, h.opts.prefix)).filter((k) => k.includes(A))).toEqual([]);

    // The other user and the shared style-only folder are untouched.
    expect(existsSync(b.merged)).toBe(true);
    expect(existsSync(b.loraFile)).toBe(true);
    expect(await styles().list(B)).toHaveLength(1);
    expect(existsSync(shared)).toBe(true);
    expect(await h.producer.records.getIdentity(B, 'me')).toBeDefined();

    const again = await h.producer.forget(A);
    expect(again.removed.files).toBe(0);
  });
});
