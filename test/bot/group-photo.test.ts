/**
 * Group photo through Telegram: real grammY against the fake Bot API, the real command and job
 * layers, a worker running the real group-photo processor with the face models. An admin sends
 * the template as a photo captioned "/group photo"; the composed picture arrives in the group.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelegramFrontend } from '../../bot/telegram/bot.ts';
import { target, until } from '../queue/helpers.ts';
import type { FakeTelegram, TgChat, TgUser } from './fake-telegram.ts';
import { type Stack, startTelegramRig, stopTelegramRig } from './harness.ts';

const face = (f: string) => new Uint8Array(readFileSync(new URL(`../fixtures/faces/${f}`, import.meta.url)));

describe('Telegram group photo', () => {
  let fake: FakeTelegram;
  let stack: Stack;
  let tg: TelegramFrontend;
  const ann: TgUser = { id: 8181, is_bot: false, first_name: 'Ann', language_code: 'en' };
  const bea: TgUser = { id: 8282, is_bot: false, first_name: 'Bea', language_code: 'en' };
  const cy: TgUser = { id: 8383, is_bot: false, first_name: 'Cy', language_code: 'en' };
  const group: TgChat = { id: -100818, type: 'supergroup', title: 'Team' };

  beforeAll(async () => {
    ({ fake, stack, tg } = await startTelegramRig());
  });

  afterAll(() => stopTelegramRig({ fake, stack, tg }));

  it('an admin sends the template; opted-in members with faces are composed, the one without is named', async () => {
    // Ann and Bea have prepared faces (the real prepare-identity job); Cy has none.
    for (const u of [ann, bea]) {
      const user = `tg-${u.id}`;
      const ref = (await stack.producer.artifacts.put(user, face('astronaut.png'), { ext: 'png' })).ref;
      await stack.producer.enqueue(
        'prepare-identity',
        { user, target: target(user), identityId: 'me', photos: [ref] },
        { idempotencyKey: `tg-gpt-${u.id}-${Date.now()}` },
      );
    }
    await until(async () => {
      const ids = await Promise.all(
        [ann, bea].map((u) => stack.producer.records.getIdentity(`tg-${u.id}`, 'me')),
      );
      return ids.every((i) => i?.status === 'prepared');
    }, 90_000);

    fake.admins.add(ann.id);
    // Joining group photos waits for an administrator's opt-in.
    const m0 = fake.calls.length;
    fake.push(fake.message(bea, group, { text: '/group join' }));
    await fake.waitFor(() =>
      fake.calls.slice(m0).find((c) => /Group features are off/.test(String(c.params.text))),
    );
    fake.push(fake.message(ann, group, { text: '/group on' }));
    await fake.waitFor(() =>
      fake.calls.slice(m0).find((c) => /Group features are on/.test(String(c.params.text))),
    );
    const mark = fake.calls.length;
    for (const u of [ann, bea, cy]) fake.push(fake.message(u, group, { text: '/group join' }));
    await fake.waitFor(
      () => fake.calls.slice(mark).filter((c) => /next group photo/.test(String(c.params.text))).length === 3,
    );
    expect(
      (await stack.services.groups.get({ platform: 'telegram', id: String(group.id), kind: 'group' }))
        .members,
    ).toHaveLength(3);

    // Ann has not accepted the privacy text: the template is not downloaded until she does.
    const tpl = fake.addFile(face('sample4.jpg'));
    const photoMsg = { caption: '/group photo', photo: [{ ...tpl, width: 1920, height: 1448 }] };
    const m1 = fake.calls.length;
    fake.push(fake.message(ann, group, photoMsg));
    await fake.waitFor(() => fake.calls.slice(m1).find((c) => /Privacy notice/.test(String(c.params.text))));
    expect(fake.calls.slice(m1).filter((c) => c.method === 'getFile')).toHaveLength(0);
    const m2 = fake.calls.length;
    fake.push(fake.callback(ann, group, 'consent:accept'));
    await fake.waitFor(() => fake.calls.slice(m2).find((c) => /Thank you/.test(String(c.params.text))));

    const m3 = fake.calls.length;
    fake.push(fake.message(ann, group, photoMsg));
    const queued = await fake.waitFor(() =>
      fake.calls.slice(m3).find((c) => /Composing a group photo of 2 members/.test(String(c.params.text))),
    );
    expect(String(queued.params.text)).toContain('Skipped (no prepared face yet): Cy.');
    const sent = await fake.waitFor(
      () =>
        fake.calls
          .slice(m3)
          .find(
            (c) =>
              c.method === 'sendPhoto' &&
              Number(c.params.chat_id) === group.id &&
              /2 members placed into the template's 4 faces/.test(String(c.params.caption)),
          ),
      90_000,
    );
    expect(sent).toBeDefined();
  }, 180_000);
});
