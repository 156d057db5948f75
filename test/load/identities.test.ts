/**
 * Prepared identities are bounded per user (the soak found one record, and its crops kept from
 * the retention sweep, per photo ever sent): the newest usable one, the one just added, and the
 * newest others up to KEPT_PREPARED stay; identities being trained or trained always stay.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { KEPT_PREPARED, UserRecords } from '../../queue/records.ts';
import { cleanup, testOptions } from '../queue/helpers.ts';

const opts = testOptions();
const redis = new Redis(opts.redisUrl);
const records = new UserRecords(redis, opts.prefix);

afterAll(async () => {
  redis.disconnect();
  await cleanup(opts);
});

const put = (id: string, at: number, over: Partial<Parameters<UserRecords['putIdentity']>[1]> = {}) =>
  records.putIdentity('tg-1', {
    id,
    status: 'prepared',
    crops: [`tg-1/${'a'.repeat(64)}.png`],
    updatedAt: at,
    ...over,
  });

describe('identities per user', () => {
  it('keeps the newest prepared ones, the newest usable one and every trained one', async () => {
    expect(KEPT_PREPARED).toBe(3);
    await put('trained', 1, { status: 'trained', lora: `tg-1/${'b'.repeat(64)}.safetensors` });
    await put('good', 2);
    // Photo sets where no photo was usable: they must not push the usable one out.
    for (let i = 3; i <= 8; i++) await put(`empty${i}`, i, { crops: [] });
    const ids = (await records.listIdentities('tg-1')).map((i) => i.id).sort();
    expect(ids).toEqual(['empty7', 'empty8', 'good', 'trained']);
    // Updating a kept one (its training starts) prunes nothing.
    await put('good', 9, { status: 'training' });
    expect((await records.listIdentities('tg-1')).map((i) => i.id).sort()).toEqual(ids);
    // The removed records are gone from Redis, not only from the set.
    expect(await redis.exists(`${opts.prefix}:u:tg-1:identity:empty3`)).toBe(0);
    // A newer usable set: the older usable one may go now, within the bound.
    for (let i = 10; i <= 12; i++) await put(`fresh${i}`, i);
    expect((await records.listIdentities('tg-1')).map((i) => i.id).sort()).toEqual([
      'fresh10',
      'fresh11',
      'fresh12',
      'good',
      'trained',
    ]);
  });
});
