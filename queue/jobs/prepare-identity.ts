/**
 * prepare-identity: 1-20 photos → FaceChain's 512² aligned, captioned crops, reject reasons per
 * photo, and the identity embedding (core/identity/prepare.ts). The crops, the report and the
 * embedding are stored as artifacts of the user; the scratch folder is removed whatever happens.
 * The identity record says "prepared" afterwards; LoRA training follows the delivered report
 * when some worker runs a trainer.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { InputError, isFacechainError, throwIfAborted } from '../../base/errors.ts';
import { isMessageKey, LOCALES, type Locale, translate } from '../../base/i18n/index.ts';
import type { RejectedPhoto } from '../../core/identity/prepare.ts';
import { GOOD_PHOTO, isRejectCode, rejectionText } from '../../core/identity/reasons.ts';
import { parseRef } from '../../core/storage/artifacts.ts';
import { artifactRef, type MessagePart } from '../reply.ts';
import { baseData, defineJob, identityId, inThread, type ProcessorContext, reply, say } from './define.ts';

/** A photo's name as the user sent it, for the report: a bare name, no folders or control characters. */
export const PHOTO_NAME_RE = /^[^/\\\u0000-\u001f\u007f]{1,100}$/;
const photoName = z.string().regex(PHOTO_NAME_RE, 'a file name without folders, at most 100 characters');
const reasonParams = z.record(z.string().max(32), z.union([z.string().max(1000), z.number()]));

const data = baseData.extend({
  identityId,
  photos: z.array(artifactRef).min(1).max(20),
  /** How the report names each photo (same order as photos); default "photo N". */
  names: z.array(photoName).max(20).optional(),
  /** The user's language, for the words on the report's contact sheet (a picture cannot be translated later). */
  locale: z.enum(LOCALES).optional(),
});

const result = z.object({
  identityId,
  accepted: z.array(artifactRef),
  /** Names (as the user sent them) of the accepted photos, in the order of `accepted`. */
  acceptedNames: z.array(photoName).optional(),
  rejected: z.array(
    z.object({
      photo: artifactRef,
      code: z.string(),
      message: z.string(),
      name: photoName.optional(),
      /** The reason's parameters (core/identity/reasons.ts), for the translated report. */
      params: reasonParams.optional(),
    }),
  ),
  report: artifactRef,
  embedding: artifactRef.optional(),
  /** The contact sheet: every photo with a tick or a cross and the short reason (a JPEG). */
  sheet: artifactRef.optional(),
});
type Result = z.infer<typeof result>;

/** The per-photo report: how many are usable, which, and what to do about each one not used. */
export function photoReport(r: Result): MessagePart[] {
  const parts = [
    say('reply.report_summary', {
      accepted: r.accepted.length,
      total: r.accepted.length + r.rejected.length,
    }),
  ];
  // 20 names of up to 100 characters would pass a line's 1000-character parameter limit.
  const names = r.acceptedNames?.join(', ') ?? '';
  if (names)
    parts.push(
      say('reply.report_accepted', { names: names.length > 1000 ? `${names.slice(0, 999)}…` : names }),
    );
  if (r.rejected.length) parts.push(say('reply.report_rejected'));
  for (const x of r.rejected.slice(0, 25)) {
    const name = x.name ?? 'photo';
    const specific = `reject.${x.code}`;
    parts.push({
      ...(isMessageKey(specific)
        ? say(specific, { ...x.params, name })
        : say('reject.other', { name, message: String(x.params?.message ?? x.message) })),
      bullet: true,
    });
  }
  return parts;
}

/** A rejection's short label on the contact sheet ("3 faces", "too blurry") in `locale`. */
export function sheetLabel(locale: Locale, code: string, params: Record<string, string | number>): string {
  const key = `sheet.${code}`;
  return translate(locale, isMessageKey(key) ? key : 'sheet.other', params);
}

export const prepareIdentity = defineJob({
  name: 'prepare-identity',
  queue: 'cpu',
  data,
  result,
  feature: { name: 'Identity preparation', howToEnable: 'Start a worker that serves the cpu queue.' },
  // The contact sheet shows every photo; results from before it existed show the accepted crops.
  reply: (r) => reply(photoReport(r), r.sheet ? [r.sheet] : r.accepted.slice(0, 10)),
  // The face LoRA is trained after the report is delivered, where a worker runs a trainer.
  followUps: (r) =>
    r.accepted.length
      ? [{ name: 'train-lora', data: { identityId: r.identityId }, key: 'lora', ifAvailable: true }]
      : [],
  records: {
    async result(records, d, r) {
      await records.putIdentity(d.user, {
        id: r.identityId,
        status: 'prepared',
        crops: r.accepted,
        embedding: r.embedding,
        report: r.report,
        updatedAt: Date.now(),
      });
    },
  },
  processor: () => inThread(import.meta.url),
});

export async function process(ctx: ProcessorContext<z.infer<typeof data>>): Promise<Result> {
  const { analyzerForTask } = await import('../../core/face/shared.ts');
  const { prepareIdentity: prepare } = await import('../../core/identity/prepare.ts');
  const { contactSheet } = await import('../../core/identity/contact-sheet.ts');
  const { data, artifacts, signal } = ctx;
  const analyzer = await analyzerForTask(ctx);
  // prepare sees unique internal names (users may send two "image.jpg"); the report goes back to
  // the names the user sent (data.names), never to these.
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
    const report = await prepare(analyzer, photos, dir, {
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
    ctx.progress('sheet', 94);
    const rejectedAt = new Map(report.rejected.map((r) => [index.get(r.file) ?? -1, userFacing(r)]));
    const sheet = await artifacts.put(
      data.user,
      await contactSheet(
        photos.map((p, i) => {
          const why = rejectedAt.get(i);
          return {
            bytes: p.bytes,
            name: shown(i),
            used: !why,
            label: why
              ? sheetLabel(data.locale ?? 'en', why.code, why.params)
              : translate(data.locale ?? 'en', 'sheet.used'),
          };
        }),
      ),
      { ext: 'jpg' },
    );
    ctx.progress('done', 100);
    return {
      sheet: sheet.ref,
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
