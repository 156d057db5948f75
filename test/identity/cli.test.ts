import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeSafetensors, type TensorToWrite } from '../../core/lora/safetensors.ts';
import { sd15UnetLayers } from '../../core/lora/sd15.ts';

const run = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'fc-identity-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ['bin/facechain.js', ...args], {
    env: { ...process.env, FACECHAIN_LOG_LEVEL: 'silent', ...env },
  }).catch((e: { code: number; stdout: string; stderr: string }) => e);

describe('facechain lora / styles', () => {
  it('inspects a LoRA and tells how it maps onto SD 1.5', async () => {
    const t: Record<string, TensorToWrite> = {};
    for (const l of sd15UnetLayers('attention').slice(0, 8)) {
      const k = `lora_unet_${l.flat}`;
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
      t[`${k}.alpha`] = { dtype: 'F32', shape: [], data: new Float32Array([2]) };
    }
    t['lora_unet_conv_in.lora_down.weight'] = { dtype: 'F32', shape: [4, 4], data: new Float32Array(16) };
    t['lora_unet_conv_in.lora_up.weight'] = { dtype: 'F32', shape: [4, 4], data: new Float32Array(16) };
    const file = path.join(dir, 'style.safetensors');
    writeFileSync(file, encodeSafetensors(t));
    writeFileSync(path.join(dir, 'broken.safetensors'), 'not a lora');
    const r = (await cli(['lora', 'inspect', file])) as { stdout: string };
    expect(r.stdout).toContain('format: kohya; layers: 9; rank 4; alpha 2');
    expect(r.stdout).toContain('SD 1.5 UNet layers adapted: 8; text encoder layers: 0');
    expect(r.stdout).toContain('layers matching no SD 1.5 layer: 1 (first: lora_unet_conv_in)');
    const bad = (await cli(['lora', 'inspect', path.join(dir, 'broken.safetensors')])) as {
      code: number;
      stderr: string;
    };
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not a valid .safetensors file/);
  });

  it('imports FaceChain styles, lists them, and reports a pack whose LoRA is missing', async () => {
    const fc = path.join(dir, 'facechain', 'styles', 'leosamsMoonfilm_filmGrain20');
    mkdirSync(fc, { recursive: true });
    writeFileSync(
      path.join(fc, 'Cyber.json'),
      JSON.stringify({
        name: '赛博朋克(Cybernetics punk)',
        img: './x.jpg',
        model_id: null,
        revision: null,
        bin_file: null,
        multiplier_style: 0.35,
        multiplier_human: 0.95,
        add_prompt_style: 'neon',
      }),
    );
    writeFileSync(
      path.join(fc, 'Suit.json'),
      JSON.stringify({
        name: 'Suit',
        img: null,
        model_id: 'a/b',
        revision: 'v1',
        bin_file: 'suit.safetensors',
        multiplier_style: 0.3,
        multiplier_human: 0.9,
        add_prompt_style: 'suit',
      }),
    );
    const styles = path.join(dir, 'styles');
    const imp = (await cli(['styles', 'import', path.join(dir, 'facechain', 'styles'), '--out', styles])) as {
      stdout: string;
    };
    expect(imp.stdout).toContain(`→ ${path.join(styles, 'cybernetics-punk')}`);
    expect(JSON.parse(readFileSync(path.join(styles, 'suit', 'style.json'), 'utf8'))).toMatchObject({
      base: 'sd15-film',
      loras: [{ file: 'suit.safetensors', multiplier: 0.3 }],
    });
    const list = (await cli(['styles', 'list', '--locale', 'zh'], { FACECHAIN_STYLES_DIR: styles })) as {
      code: number;
      stdout: string;
      stderr: string;
    };
    expect(list.stdout).toMatch(/cybernetics-punk\s+sd15-film\s+赛博朋克/);
    expect(list.stdout).toMatch(/studio-headshot/);
    expect(list.stderr).toMatch(/broken: suit \[style_lora\]/);
    expect(list.code).toBe(1);
  });
});
