/**
 * prepare-identity: 1-20 photos → FaceChain's 512² aligned, captioned crops, reject reasons per
 * photo, and the identity embedding (core/identity/prepare.ts). Runs in a worker thread. The
 * crops, the report and the embedding are stored as artifacts of the user; the scratch folder
 * is removed whatever happens.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InputError, isFacechainError, throwIfAborted } from '../../base/errors.ts';
import { prepareIdentity, type RejectedPhoto } from '../../core/identity/prepare.ts';
import { GOOD_PHOTO, isRejectCode, rejectionText } from '../../core/identity/reasons.ts';
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
  // prepareIdentity sees unique internal names (users may send two "image.jpg"); the report
  // goes back to the names the user sent (data.names), never to these.
  const index = new Map<string, number>();
  const shown = (i: number) => data.names?.[i] ?? `photo ${i + 1}`;
  const photos = [];
  for (const [i, ref] of data.photos.entries()) {
    throwIfAborted(signal);
    const name = `photo-${i + 1}.${parseRef(ref).ext}`;
    index.set(name, i);
    photos.push({ name, bytes: await artifacts.read(ref) });
  }
  const userFacing = (r: RejectedPhoto) => {
    const i = index.get(r.file) ?? 0;
    const name = shown(i);
    if (isRejectCode(r.code)) {
      const params: Record<string, string | number> = { ...r.params, name };
      if (typeof params.other === 'string') params.other = shown(index.get(params.other) ?? 0);
      return { i, name, code: r.code, message: rejectionText(r.code, params), params };
    }
    // Decoder reasons come as "<internal name>: <reason>".
    const reason = r.message.startsWith(`${r.file}: `) ? r.message.slice(r.file.length + 2) : r.message;
    return { i, name, code: r.code, message: `${name}: ${reason}`, params: { message: reason } };
  };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fc-prepare-'));
  try {
    const report = await prepareIdentity(analyzer, photos, dir, {
      signal,
      onProgress: (done, total) => ctx.progress('analyze', 5 + (done / Math.max(1, total)) * 80),
    }).catch((e: unknown) => {
      if (!isFacechainError(e) || e.code !== 'no_usable_photos') throw e;
      const each = ((e.context.rejected ?? []) as RejectedPhoto[]).map((r) => userFacing(r).message);
      throw new InputError(
        'no_usable_photos',
        `None of the photos can be used. ${each.join(' ')} ${GOOD_PHOTO}`,
      );
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
      acceptedNames: report.accepted.map((a) => shown(index.get(a.file) ?? 0)),
      rejected: report.rejected.map((r) => {
        const { i, ...shownReason } = userFacing(r);
        return { photo: data.photos[i], ...shownReason };
      }),
      report: stored.ref,
      embedding: embedding.ref,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
