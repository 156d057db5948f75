/**
 * The basic try-on through the real queue, on real photos: the user's prepared face on the
 * wearer of a garment photo (a compressed JPEG, as chats send them), likeness to the user >= 0.6,
 * a studio background; photos with no person or several people are refused with their codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, encodeJpeg, extractRgb, resizeRgb } from '../../core/image/codec.ts';
import { target, until } from '../queue/helpers.ts';
import { type Harness, photo, prepare, startHarness } from './harness.ts';

let h: Harness;
const USER = 'tg-77';

beforeAll(async () => {
  h = await startHarness();
  await prepare(h, USER, 'me', ['astronaut.png']);
}, 120_000);

afterAll(async () => {
  await h?.close();
});

async function run(id: string, data: Record<string, unknown>) {
  const before = h.deliverer.deliveries.length;
  await h.producer.enqueue(
    'try-on',
    { user: USER, target: target(USER), identityId: 'me', ...data } as never,
    {
      idempotencyKey: id,
    },
  );
  await until(() => h.deliverer.deliveries.length > before, 120_000);
  return { status: await h.producer.status(id), delivery: h.deliverer.deliveries[before] };
}

/** A woman in a dress, cropped from sample4.jpg and recompressed as a chat photo. */
async function garmentPhoto(): Promise<string> {
  const s4 = await decodeImage(photo('sample4.jpg'));
  const dress = await resizeRgb(extractRgb(s4, 1200, 0, 720, 1448), 360, 724);
  return (await h.producer.artifacts.put(USER, await encodeJpeg(dress, { quality: 80 }), { ext: 'jpg' })).ref;
}

describe('try-on job (real queue, real photos, CPU)', () => {
  it("puts the user's face on the garment's wearer on a studio background, likeness >= 0.6", async () => {
    const { status, delivery } = await run('tg-7701', {
      garment: await garmentPhoto(),
      background: 'studio',
    });
    expect(status?.error).toBeUndefined();
    const r = status?.result as { images: string[]; scores: number[]; engine: string };
    expect(r.engine).toBe('basic');
    expect(r.images).toHaveLength(1);
    expect(r.scores[0]).toBeGreaterThanOrEqual(0.6);
    expect(delivery.reply.images).toEqual(r.images);
    // The likeness rides with the picture; front-ends caption it ("#1: likeness 87%").
    expect(delivery.reply.likeness).toEqual([r.scores[0]]);
    expect(delivery.reply.message?.[0]?.key).toBe('tryon.basic_result');
  });

  it('refuses a photo without a person, and one with several people, with their codes', async () => {
    const w = 320;
    const data = new Uint8Array(w * w * 3);
    for (let i = 0; i < w * w; i++) data.set([(i % w) * 0.7, 90, 200 - (i / w) * 0.5], i * 3);
    const empty = await h.producer.artifacts.put(USER, await encodeJpeg({ width: w, height: w, data }), {
      ext: 'jpg',
    });
    const none = await run('tg-7702', { garment: empty.ref });
    expect(none.status?.state).toBe('failed');
    expect(none.delivery.reply.error?.code).toBe('no_person');
    const group = await h.producer.artifacts.put(USER, photo('sample2.jpg'), { ext: 'jpg' });
    const many = await run('tg-7703', { garment: group.ref });
    expect(many.status?.state).toBe('failed');
    expect(many.delivery.reply.error?.code).toBe('several_people');
  });
});
