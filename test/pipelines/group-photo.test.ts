/**
 * Group photo end to end: the real command layer (dispatch → /group join, /group photo with a
 * template), the real job layer and worker, the real face models and fixture photos. Two
 * opted-in members with prepared faces fill the 4-face template's two leftmost faces; an
 * opted-in member without a prepared face is named as skipped; a member with a prepared face
 * who did not opt in is never used.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { producerServices } from '../../bot/services.ts';
import { dispatch } from '../../commands/kit/dispatch.ts';
import { privacyVersion } from '../../commands/kit/privacy.ts';
import type { Invocation } from '../../commands/kit/types.ts';
import { cosine } from '../../core/face/index.ts';
import { sharedAnalyzer } from '../../core/face/shared.ts';
import { facesLeftToRight } from '../../core/fusion/faces.ts';
import { loadIdentityFace } from '../../core/identity/face-source.ts';
import { decodeImage, encodePng, extractRgb } from '../../core/image/codec.ts';
import { target, until } from '../queue/helpers.ts';
import { type Harness, photo, startHarness } from './harness.ts';

let h: Harness;
const GROUP = '-100900';
// Member photos: one person of sample2.jpg cropped head-and-shoulders, and astronaut.png (the
// 4-face template sample4.jpg shows other people).
const people = {
  ann: { id: '901', name: 'Ann', crop: [760, 80, 440, 560], file: undefined as string | undefined },
  max: { id: '902', name: 'Max', crop: [0, 0, 10_000, 10_000], file: 'astronaut.png' },
  cat: { id: '903', name: 'Cat' }, // opted in, never prepared a face
  dan: { id: '904', name: 'Dan', crop: [0, 0, 10_000, 10_000], file: 'astronaut.png' }, // prepared, never opted in
};
const uid = (p: { id: string }) => `tg-${p.id}`;

beforeAll(async () => {
  h = await startHarness();
  for (const p of [people.ann, people.max, people.dan]) {
    const [x, y, w, hh] = p.crop;
    const src = await decodeImage(new Uint8Array(photo(p.file ?? 'sample2.jpg')));
    const png = await encodePng(extractRgb(src, x!, y!, w!, hh!));
    const ref = (await h.producer.artifacts.put(uid(p), png, { ext: 'png' })).ref;
    const before = h.deliverer.deliveries.length;
    await h.producer.enqueue(
      'prepare-identity',
      { user: uid(p), target: target(uid(p)), identityId: 'me', photos: [ref] },
      { idempotencyKey: `tg-gp-prep-${p.id}-${Date.now()}` },
    );
    await until(() => h.deliverer.deliveries.length > before, 90_000);
    const rec = await h.producer.records.getIdentity(uid(p), 'me');
    if (rec?.status !== 'prepared')
      throw new Error(`${p.name}: ${h.deliverer.deliveries.at(-1)?.reply.text}`);
  }
}, 240_000);

afterAll(async () => {
  await h?.close();
});

let seq = 0;
function inv(
  who: { id: string; name: string },
  command: string,
  options: Record<string, unknown>,
  file?: string,
): Invocation {
  const bytes = file ? new Uint8Array(photo(file)) : undefined;
  return {
    id: `gp-${Date.now()}-${seq++}`,
    platform: 'telegram',
    user: { platform: 'telegram', id: who.id, name: who.name },
    chat: { platform: 'telegram', id: GROUP, kind: 'group' },
    command,
    options,
    attachments: bytes
      ? [{ name: file!, mime: 'image/jpeg', size: bytes.byteLength, fetch: async () => bytes }]
      : [],
    replyTarget: { platform: 'telegram', chatId: GROUP, userId: who.id },
    isChatAdmin: async () => who === people.ann,
  };
}

describe('group photo (real commands, queue and face models)', () => {
  it('fuses opted-in members left to right, names who was skipped, never uses non-members', async () => {
    const services = producerServices(h.producer);
    await services.profiles.setConsent(
      { platform: 'telegram', id: people.ann.id },
      { version: privacyVersion(), at: Date.now() },
    );
    // Joining waits for an administrator's opt-in of the group.
    expect((await dispatch(inv(people.max, 'group', { action: 'join' }), services))?.text).toMatch(
      /Group features are off/,
    );
    expect((await dispatch(inv(people.ann, 'group', { action: 'on' }), services))?.text).toMatch(
      /Group features are on/,
    );
    for (const p of [people.ann, people.max, people.cat])
      expect((await dispatch(inv(p, 'group', { action: 'join' }), services))?.text).toMatch(
        /next group photo/,
      );

    // Not an admin: refused. No template yet: asked for one.
    expect((await dispatch(inv(people.max, 'group', { action: 'photo' }), services))?.text).toMatch(
      /Only group administrators/,
    );
    expect((await dispatch(inv(people.ann, 'group', { action: 'photo' }), services))?.text).toMatch(
      /Send the group template photo/,
    );

    const before = h.deliverer.deliveries.length;
    const reply = await dispatch(inv(people.ann, 'group', { action: 'photo' }, 'sample4.jpg'), services);
    expect(reply?.isError).toBeFalsy();
    expect(reply?.text).toContain('Composing a group photo of 2 members');
    expect(reply?.text).toContain('Skipped (no prepared face yet): Cat.');
    expect(reply?.text).not.toMatch(/tg-|90[1-4]/);
    const jobId = reply!.track!.jobId;
    const job = await h.producer.findJob(jobId);
    expect(JSON.stringify(job?.data)).not.toContain(uid(people.dan));
    await until(() => h.deliverer.deliveries.length > before, 120_000);
    const status = await h.producer.status(jobId);
    expect(status?.state).toBe('completed');
    const r = status?.result as { images: string[]; placed: number; faceCount: number };
    expect(r).toMatchObject({ placed: 2, faceCount: 4 });
    const delivery = h.deliverer.deliveries[before]!;
    expect(delivery.target.chatId).toBe(GROUP);
    expect(delivery.reply.images).toEqual(r.images);
    expect(delivery.reply.text).toContain('2 members');

    // The two leftmost faces now look like Ann and Max; the others are the template's own.
    const analyzer = await sharedAnalyzer();
    const members = [];
    for (const p of [people.ann, people.max]) {
      const rec = await h.producer.records.getIdentity(uid(p), 'me');
      members.push((await loadIdentityFace(analyzer, h.producer.artifacts, 'me', rec)).embedding);
    }
    const faces = async (bytes: Uint8Array) =>
      facesLeftToRight((await analyzer.analyzeRgb(await decodeImage(bytes), { embedding: true })).faces);
    const tpl = await faces(new Uint8Array(photo('sample4.jpg')));
    const out = await faces(new Uint8Array(await h.producer.artifacts.read(r.images[0]!)));
    expect(out).toHaveLength(4);
    for (const i of [0, 1]) {
      const now = cosine(out[i]!.embedding!, members[i]!);
      expect(now).toBeGreaterThan(cosine(tpl[i]!.embedding!, members[i]!) + 0.15);
      expect(now).toBeGreaterThan(0.35);
    }
    for (const i of [2, 3]) expect(cosine(out[i]!.embedding!, tpl[i]!.embedding!)).toBeGreaterThan(0.9);

    // "The last one set": a second request without a photo reuses the stored template.
    const again = await dispatch(inv(people.ann, 'group', { action: 'photo' }), services);
    expect(again?.text).toContain('Composing a group photo of 2 members');
    await until(() => h.deliverer.deliveries.length > before + 1, 120_000);
    expect((await h.producer.status(again!.track!.jobId))?.state).toBe('completed');
  }, 300_000);

  it('skips a member whose face was erased after the request; a vanished template is a clear error', async () => {
    const admin = uid(people.ann);
    const tpl = (await h.producer.artifacts.put(admin, photo('sample4.jpg'), { ext: 'jpg' })).ref;
    const max = await h.producer.records.getIdentity(uid(people.max), 'me');
    const gone = { crops: [`${uid(people.cat)}/${'0'.repeat(64)}.png`] };
    const run = async (id: string, data: Record<string, unknown>) => {
      const before = h.deliverer.deliveries.length;
      await h.producer.enqueue('group-photo', { user: admin, target: target(admin), ...data } as never, {
        idempotencyKey: id,
      });
      await until(() => h.deliverer.deliveries.length > before, 90_000);
      return { status: await h.producer.status(id), delivery: h.deliverer.deliveries[before]! };
    };
    const members = [gone, { crops: max!.crops, report: max!.report }];
    const ok = await run('tg-90501', { template: tpl, members });
    expect(ok.status?.state).toBe('completed');
    expect(ok.status?.result).toMatchObject({ placed: 1, faceCount: 4 });

    await h.producer.artifacts.delete(tpl);
    const bad = await run('tg-90502', { template: tpl, members });
    expect(bad.status?.state).toBe('failed');
    expect(bad.delivery.reply.error?.code).toBe('template_missing');
    expect(bad.delivery.reply.error?.message).not.toMatch(/tg-/);
  }, 120_000);
});
