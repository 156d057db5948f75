/**
 * Keeps the user's identity records in step with finished jobs: a prepared set after
 * prepare-identity, the LoRA file after train-lora. Runs on the worker's main thread (Redis).
 */
import type { UserRecords } from '../core/storage/records.ts';
import type { JobName } from './jobs.ts';

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
