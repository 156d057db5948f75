/**
 * Test double for the GPU LoRA trainer (the outside world): checks the dataset it is given,
 * prints tqdm-like progress and writes a valid SD 1.5 face LoRA (rank 4, UNet attention, every value 0.01 × steps / 400, so
 * two trainings with different steps give different LoRAs).
 * Behaviour by --steps: 50 exits with 3, 51 writes a file that is not a LoRA, 52 hangs, 53 exits
 * without output; anything else trains. It exits with 4 if given the bot's secrets.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeSafetensors, type TensorToWrite } from '../../core/lora/safetensors.ts';
import { sd15UnetLayers } from '../../core/lora/sd15.ts';

const args = process.argv.slice(2);
const arg = (name: string) => args[args.indexOf(name) + 1] as string;
const dataset = arg('--dataset');
const output = arg('--output');
const steps = Number(arg('--steps'));
const lines = readFileSync(path.join(dataset, 'metadata.jsonl'), 'utf8').trim().split('\n');
const images = readdirSync(path.join(dataset, 'images')).filter((f) => f.endsWith('.png'));
if (lines.length !== images.length || lines.length === 0) {
  console.error(`dataset mismatch: ${lines.length} captions, ${images.length} images`);
  process.exit(2);
}
for (const l of lines) {
  const { file_name, text } = JSON.parse(l) as { file_name: string; text: string };
  if (!existsSync(path.join(dataset, 'images', file_name)) || !text.startsWith(arg('--trigger')))
    process.exit(2);
}
// The bot's secrets must not reach the trainer (it gets a minimal environment).
if (Object.keys(process.env).some((k) => /TOKEN|SECRET|REDIS/.test(k))) {
  console.error('the trainer was given the bot environment');
  process.exit(4);
}
if (steps === 50) {
  console.error('CUDA out of memory (test double)');
  process.exit(3);
}
if (steps === 52) setInterval(() => console.log('still loading the model...'), 200);
else {
  for (let i = 1; i <= 10; i++)
    console.error(`Steps: ${i * 10}%|███ | ${(i * steps) / 10}/${steps} [00:01<00:09]`);
  if (steps === 51) writeFileSync(output, 'not a safetensors file');
  else if (steps !== 53) {
    const value = (0.01 * steps) / 400;
    const t: Record<string, TensorToWrite> = {};
    for (const l of sd15UnetLayers('attention')) {
      const k = `lora_unet_${l.module.replace(/\./g, '_')}`;
      t[`${k}.lora_down.weight`] = {
        dtype: 'F16',
        shape: [4, l.inFeatures],
        data: new Float32Array(4 * l.inFeatures).fill(value),
      };
      t[`${k}.lora_up.weight`] = {
        dtype: 'F16',
        shape: [l.outFeatures, 4],
        data: new Float32Array(4 * l.outFeatures).fill(value),
      };
      t[`${k}.alpha`] = { dtype: 'F32', shape: [], data: new Float32Array([32]) };
    }
    writeFileSync(output, encodeSafetensors(t));
  }
}
