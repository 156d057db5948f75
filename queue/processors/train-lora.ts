/**
 * train-lora: the user's face LoRA, trained by the operator's trainer (queue/processors/trainer.ts)
 * on the identity's prepared crops. Runs in a worker thread on gpu-sd15 (the trainer itself is a
 * child process). The trainer's output is checked as an SD 1.5 LoRA before it is stored as the
 * user's artifact; the identity record then says "trained" (queue/record-results.ts).
 * The scratch folder (the user's face crops) is removed whatever happens.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { InputError, ModelError, throwIfAborted } from '../../base/errors.ts';
import { config } from '../../core/config.ts';
import { metadataLine, TRIGGER_TOKEN } from '../../core/identity/caption.ts';
import { UserStyleStore } from '../../core/lora/user-styles.ts';
import type { JobResult } from '../jobs.ts';
import type { ProcessorContext } from '../processor.ts';
import { userModelDirs } from '../user-models.ts';
import { runTrainer } from './trainer.ts';

const reportSchema = z.object({ accepted: z.array(z.object({ caption: z.string() })) });

export async function trainLoraJob(ctx: ProcessorContext<'train-lora'>): Promise<JobResult<'train-lora'>> {
  const { data, artifacts, signal } = ctx;
  const c = config();
  const command = c.FACECHAIN_TRAINER_CMD;
  if (!command) throw new ModelError('trainer_missing', 'FACECHAIN_TRAINER_CMD is not set on this worker.');
  // A flow (prepare-identity → train-lora) runs before the record is read by the next step,
  // so the crops come from the previous step when there is one.
  const prepared = ctx.previous['prepare-identity'] as { accepted: string[]; report: string } | undefined;
  const crops = prepared?.accepted ?? ctx.identity?.crops ?? [];
  const reportRef = prepared?.report ?? ctx.identity?.report;
  if (crops.length === 0)
    throw new InputError(
      'no_identity',
      `There is no prepared face "${data.identityId}" to train on. Send a few photos of yourself to prepare one first.`,
    );
  ctx.progress('dataset', 0);
  const captions = reportRef
    ? reportSchema
        .parse(JSON.parse((await artifacts.read(reportRef)).toString()))
        .accepted.map((a) => a.caption)
    : [];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fc-train-'));
  try {
    const images = path.join(dir, 'dataset', 'images');
    await mkdir(images, { recursive: true, mode: 0o700 });
    const lines: string[] = [];
    for (const [i, ref] of crops.entries()) {
      throwIfAborted(signal);
      await writeFile(path.join(images, `${i}.png`), await artifacts.read(ref), { mode: 0o600 });
      lines.push(metadataLine(`${i}.png`, captions[i] ?? TRIGGER_TOKEN));
    }
    const jsonl = `${lines.join('\n')}\n`;
    await writeFile(path.join(dir, 'dataset', 'metadata.jsonl'), jsonl);
    await writeFile(path.join(images, 'metadata.jsonl'), jsonl);
    const output = path.join(dir, 'out', 'face_lora.safetensors');
    await mkdir(path.dirname(output), { recursive: true });
    throwIfAborted(signal);

    ctx.progress('train', 5);
    await runTrainer(command, {
      dataset: path.join(dir, 'dataset'),
      output,
      steps: data.steps,
      timeoutMs: c.FACECHAIN_TRAINER_TIMEOUT_S * 1000,
      signal,
      onProgress: (f) => ctx.progress('train', 5 + 85 * f),
    });
    throwIfAborted(signal);

    ctx.progress('check', 92);
    if (!existsSync(output))
      throw new ModelError('trainer_no_output', 'The LoRA trainer finished without writing its output file.');
    const bytes = await readFile(output);
    try {
      // The same checks as an uploaded style: safetensors structure, LoRA layers, SD 1.5 shapes.
      new UserStyleStore(userModelDirs().userStyles, {
        maxBytes: c.FACECHAIN_MAX_LORA_BYTES,
        maxPerUser: 1,
        maxRank: c.FACECHAIN_MAX_LORA_RANK,
      }).validate(bytes, 'face_lora.safetensors');
    } catch (e) {
      throw new ModelError(
        'trainer_bad_output',
        `The LoRA trainer wrote an unusable file: ${(e as Error).message}`,
      );
    }
    ctx.progress('store', 97);
    const stored = await artifacts.put(data.user, bytes, { ext: 'lora' });
    ctx.progress('done', 100);
    return { identityId: data.identityId, lora: stored.ref };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
