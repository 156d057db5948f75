/**
 * Hostile updates against the bot process (bench/crowd-fuzz.ts runs 10,000): seeded Telegram
 * updates and Discord interactions, random and mutated (wrong types, huge strings, unknown
 * fields, no `from`, callback data never issued, channel posts, bots). The process keeps
 * running (a crash or an unhandled rejection would end it), well-formed users between the
 * garbage are answered, nothing is sent to anyone the updates did not name, and no log line
 * holds the payloads' content.
 */
import { describe, expect, it } from 'vitest';
import { runFuzz } from '../../bench/crowd/fuzz-run.ts';
import { checkUpdate } from '../../bot/telegram/guard.ts';

describe('hostile updates', () => {
  it('600 fuzzed Telegram updates and Discord interactions: no crash, no stray reply, no payload in the logs', async () => {
    const r = await runFuzz({ cases: 600, seed: 11, controlEvery: 100 });
    expect(r.botAlive).toBe(true);
    expect(r.unexpected).toEqual([]);
    expect(r.logs.withPayload).toEqual([]);
    expect(r.logs.errors).toBe(0);
    expect(r.controls.sent).toBe(12);
    expect(r.controls.answered).toBe(12);
    // Garbage that names a person gets a polite answer; the rest gets nothing.
    expect(r.replies).toBeGreaterThan(12);
  }, 60_000);

  it('the Telegram guard keeps people, drops what names no one, bots and broken shapes', () => {
    const from = { id: 5, is_bot: false, first_name: 'A' };
    const chat = { id: 5, type: 'private' };
    const msg = { message_id: 1, date: 0, chat, from, text: '/start' };
    expect(checkUpdate({ update_id: 1, message: msg } as never)).toBe('ok');
    expect(
      checkUpdate({ update_id: 1, message: { ...msg, from: undefined, sender_chat: chat } } as never),
    ).toBe('no_person');
    expect(checkUpdate({ update_id: 1, message: { ...msg, from: { ...from, is_bot: true } } } as never)).toBe(
      'from_bot',
    );
    expect(checkUpdate({ update_id: 1, message: { ...msg, chat: 'x' } } as never)).toBe('malformed');
    expect(checkUpdate({ update_id: 1, message: { ...msg, photo: [null] } } as never)).toBe('malformed');
    expect(checkUpdate({ update_id: 1, chat_member: { chat, from, date: 0 } } as never)).toBe('malformed');
    // Unknown update kinds and extra fields pass (Telegram adds fields; handlers ignore kinds they do not serve).
    expect(checkUpdate({ update_id: 1, poll: { id: 'p' } } as never)).toBe('ok');
    expect(checkUpdate({ update_id: 1, message: { ...msg, brand_new_field: 1 } } as never)).toBe('ok');
  });
});
