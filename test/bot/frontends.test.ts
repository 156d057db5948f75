/** startFrontends: each front-end starts exactly when its settings are present, or not at all. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../base/errors.ts';
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

  it('refuses a webhook URL without a secret (or with a bad one) before any front-end starts', async () => {
    const base = {
      WEB_PORT: '0',
      TELEGRAM_BOT_TOKEN: TG_TOKEN,
      TELEGRAM_API_ROOT: tg.url,
      DISCORD_TOKEN: DC_TOKEN,
      DISCORD_APPLICATION_ID: APP_ID,
      DISCORD_API_ROOT: dc.api,
    };
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [
        { TELEGRAM_WEBHOOK_URL: 'https://bot.example.org/tg' },
        'webhook_secret_missing',
        /set TELEGRAM_WEBHOOK_SECRET/,
      ],
      [
        { TELEGRAM_WEBHOOK_URL: 'https://bot.example.org/tg', TELEGRAM_WEBHOOK_SECRET: 'has spaces!' },
        'bad_webhook_secret',
        /TELEGRAM_WEBHOOK_SECRET may hold only/,
      ],
      [
        { TELEGRAM_WEBHOOK_URL: 'bot.example.org/tg', TELEGRAM_WEBHOOK_SECRET: 's3cret' },
        'bad_webhook_url',
        /TELEGRAM_WEBHOOK_URL must be the full public HTTPS address/,
      ],
    ];
    for (const [settings, code, message] of cases) {
      const getMe = tg.callsOf('getMe').length;
      const polls = tg.callsOf('getUpdates').length;
      const gateway = dc.calls.length;
      const deliverers: Deliverers = {};
      const started = startFrontends({
        producer: stack.producer,
        deliverers,
        config: loadConfig({ ...base, ...settings }),
      });
      await expect(started).rejects.toBeInstanceOf(ConfigError);
      await expect(started).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
      // Not a fall-back to polling, and nothing else started either.
      expect(tg.callsOf('getMe')).toHaveLength(getMe);
      await new Promise((r) => setTimeout(r, 100));
      expect(tg.callsOf('getUpdates')).toHaveLength(polls);
      expect(dc.calls).toHaveLength(gateway);
      expect(deliverers).toEqual({});
    }
  });

  it('`facechain start` with a webhook URL and no secret exits 1 at once, starting nothing', async () => {
    const data = mkdtempSync(path.join(os.tmpdir(), 'fc-start-'));
    try {
      const run = promisify(execFile)(process.execPath, ['bin/facechain.js', 'start'], {
        env: {
          PATH: process.env.PATH,
          FACECHAIN_DATA_DIR: data,
          FACECHAIN_HEALTH_PORT: '0',
          FACECHAIN_LOG_FORMAT: 'json',
          // Nothing answers here: had the start gone on, it would have failed differently.
          REDIS_URL: 'redis://127.0.0.1:1',
          TELEGRAM_BOT_TOKEN: TG_TOKEN,
          TELEGRAM_API_ROOT: tg.url,
          TELEGRAM_WEBHOOK_URL: 'https://bot.example.org/tg',
        },
        timeout: 30_000,
      });
      const failed = await run.then(
        () => undefined,
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stdout).toBe('');
      expect(failed?.stderr).toContain('TELEGRAM_WEBHOOK_URL is set but TELEGRAM_WEBHOOK_SECRET is not');
      expect(failed?.stderr).toContain('[webhook_secret_missing]');
      // Refused before the models were fetched or a Redis started.
      expect(existsSync(path.join(data, 'models'))).toBe(false);
      expect(readdirSync(data)).toEqual([]);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });
});
