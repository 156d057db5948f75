/** startFrontends: each front-end starts exactly when its settings are present. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFrontends } from '../../bot/frontends.ts';
import { loadConfig } from '../../core/config.ts';
import type { Deliverers } from '../../queue/reply.ts';
import { APP_ID, TOKEN as DC_TOKEN, FakeDiscord, GUILD_ID } from './fake-discord.ts';
import { FakeTelegram, TOKEN as TG_TOKEN } from './fake-telegram.ts';
import { type Stack, startStack } from './harness.ts';

describe('startFrontends', () => {
  let stack: Stack;
  let tg: FakeTelegram;
  let dc: FakeDiscord;

  beforeAll(async () => {
    stack = await startStack();
    tg = await new FakeTelegram().start();
    dc = await new FakeDiscord().start();
  });
  afterAll(async () => {
    await stack?.close();
    await tg?.stop();
    await dc?.stop();
  });

  it('starts the web playground alone when no platform token is set', async () => {
    const deliverers: Deliverers = {};
    const started = await startFrontends({
      producer: stack.producer,
      deliverers,
      config: loadConfig({ WEB_PORT: '0' }),
    });
    try {
      expect(started.map((f) => f.name)).toEqual(['web']);
      expect(started[0].address).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect(Object.keys(deliverers)).toEqual(['web']);
    } finally {
      await Promise.all(started.map((f) => f.stop()));
    }
  });

  it('starts Telegram, Discord and web when their settings are present', async () => {
    const deliverers: Deliverers = {};
    const config = loadConfig({
      WEB_PORT: '0',
      TELEGRAM_BOT_TOKEN: TG_TOKEN,
      TELEGRAM_API_ROOT: tg.url,
      DISCORD_TOKEN: DC_TOKEN,
      DISCORD_APPLICATION_ID: APP_ID,
      DISCORD_GUILD_ID: GUILD_ID,
      DISCORD_API_ROOT: dc.api,
    });
    const started = await startFrontends({ producer: stack.producer, deliverers, config });
    try {
      expect(started.map((f) => f.name)).toEqual(['telegram', 'discord', 'web']);
      expect(Object.keys(deliverers).sort()).toEqual(['discord', 'telegram', 'web']);
      expect(tg.callsOf('getMe')).toHaveLength(1);
      expect(dc.calls.some((c) => c.path === `/applications/${APP_ID}/guilds/${GUILD_ID}/commands`)).toBe(
        true,
      );
    } finally {
      await Promise.all(started.map((f) => f.stop()));
    }
  });

  it('Discord needs both the token and the application id; the web playground can be turned off', async () => {
    const deliverers: Deliverers = {};
    const config = loadConfig({ DISCORD_TOKEN: DC_TOKEN, FACECHAIN_WEB_ENABLED: 'false' });
    const started = await startFrontends({ producer: stack.producer, deliverers, config });
    expect(started).toEqual([]);
    expect(deliverers).toEqual({});
  });
});
