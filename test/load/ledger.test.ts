/**
 * The crowd's book-keeping catches what it is there to catch: an update without an answer, a
 * request whose result never came, a second delivery, a second Discord acknowledgement, and a
 * request the user cancelled (no delivery, and none expected).
 */
import { describe, expect, it } from 'vitest';
import { translate } from '../../base/i18n/index.ts';
import { Ledger, verdict } from '../../bench/crowd/ledger.ts';
import type { ApiCall } from '../../test/bot/fake-telegram.ts';

const tgSend = (chat: number, replyTo: number, text: string): ApiCall => ({
  method: 'sendMessage',
  params: { chat_id: String(chat), text, reply_parameters: { message_id: replyTo } },
  files: {},
  at: 0,
});
// The answers that say a request was queued, as the bot words them (in English).
const GOT = translate('en', 'train.queued', { count: 1 });
const TEMPLATE = translate('en', 'template.queued');
const base = { bot: 0, user: 1, at: 0, updateId: '1', jobId: 'tg-1-u1', jobUser: 'tg-1' };

describe('crowd ledger', () => {
  it('ties Telegram replies to their update and classifies them', () => {
    const l = new Ledger();
    l.addTelegram(0, 5, 10, { ...base, key: 'a', action: 'status', platform: 'telegram' });
    l.addTelegram(0, 5, 11, { ...base, key: 'b', action: 'photo', platform: 'telegram' });
    l.addTelegram(0, 5, 12, { ...base, key: 'c', action: 'photo', platform: 'telegram' });
    l.addTelegram(0, 5, 13, { ...base, key: 'd', action: 'template', platform: 'telegram' });
    l.addTelegram(0, 5, 14, { ...base, key: 'e', action: 'template', platform: 'telegram' });
    l.addTelegram(0, 5, 15, { ...base, key: 'f', action: 'help', platform: 'telegram' });
    l.onTelegram(0, tgSend(5, 10, 'You have no jobs.'), 1);
    l.onTelegram(0, tgSend(5, 11, GOT), 2);
    l.onTelegram(0, tgSend(5, 11, '1 of 1 photo(s) can be used for your portraits.'), 3);
    l.onTelegram(0, tgSend(5, 12, GOT), 4);
    l.onTelegram(0, tgSend(5, 13, TEMPLATE), 5);
    l.onTelegram(0, tgSend(5, 13, 'Here is your portrait.'), 6);
    l.onTelegram(0, tgSend(5, 13, 'Here is your portrait.'), 7);
    l.onTelegram(0, tgSend(5, 14, TEMPLATE), 8);
    // A reply to a message nobody sent is a stray; an edit is progress.
    l.onTelegram(0, tgSend(5, 99, 'huh'), 9);
    l.onTelegram(0, { ...tgSend(5, 11, 'x'), method: 'editMessageText' }, 9);
    const v = verdict(l, (s) => s.key === 'e');
    expect(v.answered).toBe(5);
    expect(v.unanswered.map((s) => s.key)).toEqual(['f']);
    expect(v.queued).toBe(4);
    expect(v.delivered).toBe(1);
    expect(v.cancelled).toBe(1);
    expect(v.missing.map((s) => s.key)).toEqual(['c']);
    expect(v.duplicates.map((s) => s.key)).toEqual(['d']);
    expect(l.strays).toEqual(['huh']);
    expect(l.edits).toBe(1);
    expect(l.sent.get('b')?.answerAt).toBe(2);
  });

  it('counts Discord acknowledgements, answers, progress edits and follow-ups per interaction', () => {
    const l = new Ledger();
    l.addDiscord(0, { ...base, key: 'x', action: 'photo', platform: 'discord', updateId: '77' });
    l.addDiscord(0, { ...base, key: 'y', action: 'status', platform: 'discord', updateId: '78' });
    const call = (method: string, path: string, content?: string) => ({
      method,
      path,
      body: content === undefined ? { type: 5 } : { content },
      files: [],
      at: 0,
    });
    l.onDiscord(0, call('POST', '/interactions/77/itok-77/callback'), 1);
    l.onDiscord(0, call('PATCH', '/webhooks/9/itok-77/messages/@original', GOT), 2);
    l.onDiscord(0, call('PATCH', '/webhooks/9/itok-77/messages/@original', `${GOT} 50%`), 3);
    l.onDiscord(0, call('POST', '/webhooks/9/itok-77', 'report'), 4);
    l.onDiscord(0, call('POST', '/interactions/78/itok-78/callback'), 5);
    l.onDiscord(0, call('POST', '/interactions/78/itok-78/callback'), 6);
    l.onDiscord(0, call('PATCH', '/webhooks/9/itok-78/messages/@original', 'You have no jobs.'), 7);
    const v = verdict(l, () => false);
    expect(v.delivered).toBe(1);
    expect(v.badAcks.map((s) => s.key)).toEqual(['y']);
    expect(l.edits).toBe(1);
    expect(l.sent.get('x')?.ackAt).toBe(1);
    expect(l.sent.get('x')?.answerAt).toBe(2);
  });
});
