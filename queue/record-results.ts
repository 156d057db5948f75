/**
 * Keeps the user's identity records in step with jobs: a prepared set after prepare-identity;
 * "training" while train-lora runs, the LoRA file after it, and "failed" (or back to what it was,
 * when cancelled) if it ends without one, so /status tells the truth. Runs on the worker's main
 * thread (Redis).
 */

import type { JobName } from './jobs.ts';
import type { Identity, UserRecords } from './records.ts';

/** When a job starts: a LoRA training marks its identity "training". */
export async function recordStart(
  records: UserRecords,
  user: string,
  name: JobName,
  identity: Identity | undefined,
): Promise<void> {
  if (name !== 'train-lora' || !identity || identity.status === 'training') return;
  await records.putIdentity(user, { ...identity, status: 'training', updatedAt: Date.now() });
}

/** When a job fails for good (code `cancelled` when the user stopped it). */
export async function recordFailure(
  records: UserRecords,
  user: string,
  name: string,
  data: unknown,
  code: string,
): Promise<void> {
  const id = (data as { identityId?: string }).identityId;
  if (name !== 'train-lora' || !id) return;
  const current = await records.getIdentity(user, id);
  // Gone (forgotten) or already moved on: nothing to correct.
  if (current?.status !== 'training') return;
  // An earlier LoRA still works; a cancelled first training leaves the prepared set as it was.
  const status = current.lora ? 'trained' : code === 'cancelled' ? 'prepared' : 'failed';
  await records.putIdentity(user, { ...current, status, updatedAt: Date.now() });
}

export async function recordResult(
  records: UserRecords,
  user: string,
  name: JobName,
  result: unknown,
): Promise<void> {
  if (name === 'prepare-identity') {
    const r = result as { identityId: string; accepted: string[]; embedding?: string; report: string };
    await records.putIdentity(user, {
      id: r.identityId,
      status: 'prepared',
      crops: r.accepted,
      embedding: r.embedding,
      report: r.report,
      updatedAt: Date.now(),
    });
  } else if (name === 'train-lora') {
    const r = result as { identityId: string; lora: string };
    const current = await records.getIdentity(user, r.identityId);
    await records.putIdentity(user, {
      id: r.identityId,
      status: 'trained',
      crops: current?.crops ?? [],
      embedding: current?.embedding,
      report: current?.report,
      lora: r.lora,
      updatedAt: Date.now(),
    });
  }
}
