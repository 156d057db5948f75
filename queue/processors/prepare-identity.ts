/**
 * prepare-identity: 1-20 photos → FaceChain's 512² aligned, captioned crops, reject reasons per
 * photo, and the identity embedding (core/identity/prepare.ts). Runs in a worker thread. The
 * crops, the report and the embedding are stored as artifacts of the user; the scratch folder
 * is removed whatever happens.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { throwIfAborted } from '../../core/errors.ts';
import { prepareIdentity } from '../../core/identity/prepare.ts';
import { parseRef } from '../../core/storage/artifacts.ts';
import type { JobResult } from '../jobs.ts';
import type { ProcessorContext } from '../processor.ts';
import { sharedAnalyzer } from './analyze.ts';

export async function prepareIdentityJob(
  ctx: ProcessorContext<'prepare-identity'>,
): Promise<JobResult<'prepare-identity'>> {
  const { data, artifacts, signal } = ctx;
  ctx.progress('load-models', 0);
  const analyzer = await sharedAnalyzer();
  const names = new Map<string, string>();
  const photos = [];
  for (const [i, ref] of data.photos.entries()) {
    throwIfAborted(signal);
    const name = `photo-${i + 1}.${parseRef(ref).ext}`;
    names.set(name, ref);
    photos.push({ name, bytes: await artifacts.read(ref) });
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fc-prepare-'));
  try {
    const report = await prepareIdentity(analyzer, photos, dir, {
      signal,
      onProgress: (done, total) => ctx.progress('analyze', 5 + (done / Math.max(1, total)) * 80),
    });
    throwIfAborted(signal);
    ctx.progress('store', 90);
    const accepted = [];
    for (const a of report.accepted) {
      accepted.push(
        (await artifacts.put(data.user, await readFile(path.join(dir, a.image)), { ext: 'png' })).ref,
      );
    }
    const stored = await artifacts.put(data.user, await readFile(path.join(dir, 'report.json')), {
      ext: 'json',
    });
    const embedding = await artifacts.put(data.user, Buffer.from(JSON.stringify(report.identity.embedding)), {
      ext: 'json',
    });
    ctx.progress('done', 100);
    return {
      identityId: data.identityId,
      accepted,
      rejected: report.rejected.map((r) => ({
        photo: names.get(r.file) ?? data.photos[0],
        code: r.code,
        message: r.message,
      })),
      report: stored.ref,
      embedding: embedding.ref,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
