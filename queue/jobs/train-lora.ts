/**
 * train-lora: the user's face LoRA, trained by the operator's trainer (core/identity/trainer.ts,
 * a child process) on the identity's prepared crops, on gpu-sd15. The trainer's output is checked
 * as an SD 1.5 LoRA before it is stored as the user's artifact. The identity record says
 * "training" while it runs, "trained" after, and "failed" (or what it was, when cancelled) if it
 * ends without a LoRA, so /status tells the truth. The scratch folder (the user's face crops) is
 * removed whatever happens.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { InputError, ModelError, throwIfAborted } from '../../base/errors.ts';
import { config } from '../../core/config.ts';
import { artifactRef } from '../reply.ts';
import {
  baseData,
  defineJob,
  identityId,
  inThread,
  notInstalled,
  type ProcessorContext,
  reply,
  say,
} from './define.ts';

const data = baseData.extend({ identityId, steps: z.number().int().min(50).max(5000).default(800) });
const result = z.object({ identityId, lora: artifactRef });

export const trainLora = defineJob({
  name: 'train-lora',
  queue: 'gpu-sd15',
  data,
  result,
  feature: {
    name: 'Face-model (LoRA) training',
    howToEnable:
      'It needs a GPU worker with a LoRA trainer configured (FACECHAIN_TRAINER_CMD; see docs/pipelines.md).',
  },
  priority: () => 10,
  reply: () => reply([say('reply.trained')]),
  records: {
    async start(records, d, identity) {
      if (!identity || identity.status === 'training') return;
      await records.putIdentity(d.user, { ...identity, status: 'training', updatedAt: Date.now() });
    },
    async result(records, d, r) {
      const current = await records.getIdentity(d.user, r.identityId);
      await records.putIdentity(d.user, {
        id: r.identityId,
        status: 'trained',
        crops: current?.crops ?? [],
        embedding: current?.embedding,
        report: current?.report,
        lora: r.lora,
        updatedAt: Date.now(),
      });
    },
    async failure(records, d, code) {
      const current = await records.getIdentity(d.user, d.identityId);
      // Gone (forgotten) or already moved on: nothing to correct.
      if (current?.status !== 'training') return;
      // An earlier LoRA still works; a cancelled first training leaves the prepared set as it was.
      const status = current.lora ? 'trained' : code === 'cancelled' ? 'prepared' : 'failed';
      await records.putIdentity(d.user, { ...current, status, updatedAt: Date.now() });
    },
  },
  processor: () =>
    config().FACECHAIN_TRAINER_CMD
      ? inThread(import.meta.url)
      : notInstalled('FACECHAIN_TRAINER_CMD is not set'),
});

/** The trainer command a worker was started with (tests pass their own). */
export function trainerProcessor(command: string | undefined) {
  return command ? inThread(import.meta.url) : notInstalled('no trainer command');
}

const reportSchema = z.object({ accepted: z.array(z.object({ caption: z.string() })) });

export async function process(ctx: ProcessorContext<z.infer<typeof data>>): Promise<z.infer<typeof result>> {
  const { metadataLine, TRIGGER_TOKEN } = await import('../../core/identity/caption.ts');
  const { runTrainer } = await import('../../core/identity/trainer.ts');
  const { UserStyleStore } = await import('../../core/lora/user-styles.ts');
  const { userModelDirs } = await import('../../core/lora/user-models.ts');
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
