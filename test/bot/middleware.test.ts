/**
 * An operator's own middleware (`DispatchOptions.middleware`), through Telegram: it runs after
 * the built-in steps (it sees the command, its parsed options and the user's profile, and never
 * sees an update the ban list or consent stopped), can answer in place of the command, can pass
 * on, and an error it throws is answered like any other (the error boundary), not a crash.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Middleware } from '../../commands/kit/dispatch.ts';
import type { TgChat, TgUser } from './fake-telegram.ts';
import { startTelegramRig, stopTelegramRig, type TelegramRig } from './harness.ts';

describe('operator middleware', () => {
  let rig: TelegramRig;
  const seen: Array<{ command?: string; options: unknown; consented: boolean }> = [];
  const audit: Middleware = async (ctx, next) => {
    seen.push({
      command: ctx.command?.name,
      options: ctx.options,
      consented: Boolean(ctx.profile?.consent),
    });
    if (ctx.command?.name === 'styles' && ctx.inv.user.id === '6363')
      return { text: 'Styles are closed for maintenance.', ephemeral: true };
    if (ctx.command?.name === 'settings') throw new Error('audit store unreachable');
    return next();
  };
  const eve: TgUser = { id: 6363, is_bot: false, first_name: 'Eve', language_code: 'en' };
  const dm: TgChat = { id: 6363, type: 'private', first_name: 'Eve' };
  const fay: TgUser = { id: 6364, is_bot: false, first_name: 'Fay', language_code: 'en' };
  const dmFay: TgChat = { id: 6364, type: 'private', first_name: 'Fay' };

  beforeAll(async () => {
    rig = await startTelegramRig(undefined, { dispatch: { middleware: [audit] } });
  });
  afterAll(() => stopTelegramRig(rig));

  async function say(who: TgUser, chat: TgChat, text: string, expected: RegExp): Promise<string> {
    const { fake } = rig;
    const mark = fake.calls.length;
    fake.push(fake.message(who, chat, { text }));
    const c = await fake.waitFor(() =>
      fake.calls.slice(mark).find((c) => c.method === 'sendMessage' && expected.test(String(c.params.text))),
    );
    return String(c.params.text);
  }

  it('runs after consent and option parsing, answers in place of the command or passes on', async () => {
    // Before consent: the built-in consent step answers; the operator's middleware never runs.
    await say(eve, dm, '/train', /privacy/i);
    expect(seen).toEqual([]);
    const { fake } = rig;
    const mark = fake.calls.length;
    fake.push(fake.callback(eve, dm, 'consent:accept'));
    await fake.waitFor(() => fake.calls.slice(mark).find((c) => /Thank you/.test(String(c.params.text))));

    await say(eve, dm, '/styles', /closed for maintenance/);
    expect(seen.at(-1)).toMatchObject({ command: 'styles', consented: true });
    expect(seen.at(-1)?.options).toBeDefined();
    // Another user passes through to the real command.
    await say(fay, dmFay, '/help', /\/portrait/);
    expect(seen.at(-1)).toMatchObject({ command: 'help' });
  });

  it('an error it throws is answered as an error, and the bot goes on', async () => {
    await say(eve, dm, '/settings', /went wrong|try again/i);
    await say(eve, dm, '/help', /\/portrait/);
  });
});
