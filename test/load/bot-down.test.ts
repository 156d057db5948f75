/**
 * Updates sent while the bot was down: the Telegram stand-in holds them (as Telegram does, for
 * 24 h) and the bot answers them once it starts, oldest first in each chat, with the consent
 * and rate rules applied. An update a killed bot process had claimed but never answered is
 * answered by the next one; one it answered is not answered again. Long polling asks for the
 * next batch (which confirms this one to Telegram) only once the batch is answered.
 * Real command and job layers on the shared Redis under a fresh prefix; only Telegram is faked.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TelegramFrontend } from '../../bot/telegram/bot.ts';
import { privacyVersion } from '../../commands/kit/privacy.ts';
import { BOT_ID, FakeTelegram, type TgChat, type TgUser, TOKEN } from '../bot/fake-telegram.ts';
import { type Stack, startStack } from '../bot/harness.ts';

const person = (id: number): { from: TgUser; chat: TgChat } => ({
  from: { id, is_bot: false, first_name: `U${id}` },
  chat: { id, type: 'private' },
});

describe('updates sent while the bot was down', () => {
  let fake: FakeTelegram;
  let stack: Stack;
  let tg: TelegramFrontend | undefined;
  const sent = new Map<string, { updateId: number; messageId: number; chat: number }>();

  beforeAll(async () => {
    fake = await new FakeTelegram().start();
    stack = await startStack();
    const push = (key: string, who: number, extra: Record<string, unknown>) => {
      const { from, chat } = person(who);
      const u = fake.message(from, chat, extra);
      const updateId = fake.push(u);
      sent.set(key, { updateId, messageId: (u.message as { message_id: number }).message_id, chat: who });
      return updateId;
    };
    // Alice accepted the privacy text before; she writes three times while the bot is down.
    await stack.services.profiles.setConsent(
      { platform: 'telegram', id: '7001' },
      { version: privacyVersion(), at: Date.now() },
    );
    push('a1', 7001, { text: '/status' });
    push('a2', 7001, { text: '/help' });
    push('a3', 7001, { text: '/settings' });
    // Bob never accepted it; his photo gets the privacy text and is never downloaded.
    const photo = fake.addFile(new Uint8Array([0xff, 0xd8, 0xff]), 'jpg');
    push('b1', 7002, { photo: [{ ...photo, width: 10, height: 10 }] });
    // Carol sends 24 commands in a burst: 20 pass, the rest are told to slow down.
    for (let i = 0; i < 24; i++) push(`c${i}`, 7003, { text: '/help' });
    // Dan's first update was claimed by a bot process that died before answering; his second
    // was answered by it (its "seen" key says so).
    const redis = new Redis(stack.sys.redisUrl);
    const seen = (updateId: number) => `${stack.sys.prefix}:seen:telegram:${BOT_ID}-u${updateId}`;
    await redis.set(seen(push('d1', 7004, { text: '/start' })), 'p:0badc0ffee00', 'EX', 600);
    await redis.set(seen(push('d2', 7004, { text: '/help' })), 'd', 'EX', 600);
    redis.disconnect();

    tg = new TelegramFrontend({
      token: TOKEN,
      apiRoot: fake.url,
      services: stack.services,
      progressPollMs: 50,
    });
    await stack.startWorker({ telegram: tg });
    await tg.start();
    await fake.waitFor(() => answers(fake).size >= sent.size - 1, 30_000);
    await tg.idle();
    // And the batch confirmed: polling asked for updates after the last one (on a busy machine
    // that comes a moment after the last answer; the order is checked below).
    const last = Math.max(...[...sent.values()].map((s) => s.updateId));
    await fake.waitFor(
      () => fake.calls.find((c) => c.method === 'getUpdates' && Number(c.params.offset) > last),
      30_000,
    );
  }, 60_000);

  afterAll(async () => {
    await tg?.stop();
    await stack?.close();
    await fake?.stop();
  });

  it('answers each once, oldest first in each chat', () => {
    const got = answers(fake);
    const keys = [...sent.keys()].filter((k) => k !== 'd2');
    for (const k of keys) expect(got.get(sent.get(k)!.messageId)?.length, k).toBe(1);
    for (const chat of [7001, 7003]) {
      const order = fake
        .callsOf('sendMessage')
        .filter((c) => Number(c.params.chat_id) === chat)
        .map((c) => (c.params.reply_parameters as { message_id: number }).message_id);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  });

  it('applies consent and the rate limit to them', () => {
    const text = (k: string) => String(answers(fake).get(sent.get(k)!.messageId)?.[0]);
    expect(text('a1')).not.toMatch(/privacy/i);
    expect(text('b1')).toMatch(/^Please read and accept the privacy text first/);
    expect(fake.callsOf('getFile')).toEqual([]);
    const carol = Array.from({ length: 24 }, (_, i) => text(`c${i}`));
    // 20 at once, then 30 a minute: the last ones are refused (fewer if answering took seconds).
    const refused = carol.filter((t) => /^Too many requests/.test(t)).length;
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(refused).toBeLessThanOrEqual(4);
    expect(carol.slice(0, 20).every((t) => !/^Too many requests/.test(t))).toBe(true);
  });

  it('answers an update a dead process claimed, and not one it answered', () => {
    const got = answers(fake);
    expect(got.get(sent.get('d1')!.messageId)).toHaveLength(1);
    expect(got.get(sent.get('d2')!.messageId)).toBeUndefined();
  });

  it('confirms a batch (asks for the next) only after answering it', () => {
    const calls = fake.calls;
    for (const [k, s] of sent) {
      if (k === 'd2') continue;
      const answered = calls.findIndex(
        (c) =>
          c.method === 'sendMessage' &&
          (c.params.reply_parameters as { message_id?: number } | undefined)?.message_id === s.messageId,
      );
      const confirmed = calls.findIndex(
        (c) => c.method === 'getUpdates' && Number(c.params.offset) > s.updateId,
      );
      expect(answered, k).toBeGreaterThan(-1);
      expect(confirmed, k).toBeGreaterThan(answered);
    }
  });
});

/** Bot messages by the message they answer (all chats are private and distinct per person). */
function answers(fake: FakeTelegram): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const c of fake.callsOf('sendMessage')) {
    const id = (c.params.reply_parameters as { message_id?: number } | undefined)?.message_id;
    if (id === undefined) continue;
    out.set(id, [...(out.get(id) ?? []), String(c.params.text)]);
  }
  return out;
}
