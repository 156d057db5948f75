import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, encodePng } from '../../core/image/codec.ts';
import { target, until } from '../queue/helpers.ts';
import { type Harness, photo, prepare, startHarness } from './harness.ts';

let h: Harness;
const USER = 'tg-71';

beforeAll(async () => {
  h = await startHarness();
  await prepare(h, USER, 'me', ['astronaut.png']);
}, 120_000);

afterAll(async () => {
  await h?.close();
});

async function run(id: string, data: Record<string, unknown>, user = USER) {
  const before = h.deliverer.deliveries.length;
  await h.producer.enqueue('template', { user, target: target(user), identityId: 'me', ...data } as never, {
    idempotencyKey: id,
  });
  await until(() => h.deliverer.deliveries.length > before, 90_000);
  return { status: await h.producer.status(id), delivery: h.deliverer.deliveries[before] };
}

describe('template job (real queue, real photos)', () => {
  it('puts the prepared face into the chosen face of a group photo and replies with the image and likeness', async () => {
    const tpl = await h.producer.artifacts.put(USER, photo('sample2.jpg'), { ext: 'jpg' });
    const { status, delivery } = await run('tg-7101', { template: tpl.ref, face: 1 });
    expect(status?.state).toBe('completed');
    const r = status?.result as { images: string[]; scores: number[]; faceIndex: number; faceCount: number };
    expect(r.faceIndex).toBe(1);
    expect(r.faceCount).toBe(3);
    expect(r.images).toHaveLength(1);
    expect(r.images[0].startsWith(`${USER}/`)).toBe(true);
    // Same-person cosines of this model are 0.45+; different people -0.2..0.3 (docs/fusion.md).
    expect(r.scores[0]).toBeGreaterThan(0.45);
    const out = await decodeImage(await h.producer.artifacts.read(r.images[0]));
    const src = await decodeImage(photo('sample2.jpg'));
    expect([out.width, out.height]).toEqual([src.width, src.height]);
    expect(Buffer.from(out.data).equals(Buffer.from(src.data))).toBe(false);
    expect(delivery.reply.images).toEqual(r.images);
    expect(delivery.reply.text).toContain('face 2 of 3');
    // The likeness rides with the picture (front-ends caption it); the other faces can be chosen.
    expect(delivery.reply.likeness).toEqual([r.scores[0]]);
    expect(delivery.reply.faces).toEqual({ count: 3, chosen: 1 });
  });

  it('refuses a face index the template does not have, saying how many faces there are', async () => {
    const tpl = await h.producer.artifacts.put(USER, photo('sample2.jpg'), { ext: 'jpg' });
    const { status, delivery } = await run('tg-7102', { template: tpl.ref, face: 7 });
    expect(status?.state).toBe('failed');
    expect(status?.attempts).toBe(1);
    expect(delivery.reply.error?.code).toBe('no_such_face');
    expect(delivery.reply.error?.message).toMatch(/3 faces; choose 0 to 2/);
  });

  it('refuses a template photo without a face', async () => {
    const w = 320;
    const data = new Uint8Array(w * w * 3);
    for (let i = 0; i < w * w; i++) data.set([(i % w) * 0.7, 90, 200 - (i / w) * 0.5], i * 3);
    const plain = await h.producer.artifacts.put(
      USER,
      Buffer.from(await encodePng({ data, width: w, height: w })),
      {
        ext: 'png',
      },
    );
    const { status, delivery } = await run('tg-7103', { template: plain.ref });
    expect(status?.state).toBe('failed');
    expect(status?.attempts).toBe(1);
    expect(delivery.reply.error?.code).toBe('no_face');
    expect(delivery.reply.error?.message).toMatch(/template photo/);
  });

  it('tells a user without a prepared face to prepare one first', async () => {
    const other = 'tg-72';
    const tpl = await h.producer.artifacts.put(other, photo('sample2.jpg'), { ext: 'jpg' });
    const { status, delivery } = await run('tg-7104', { template: tpl.ref }, other);
    expect(status?.state).toBe('failed');
    expect(delivery.reply.error?.code).toBe('no_identity');
  });
});
