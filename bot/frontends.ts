/**
 * Starts every front-end whose settings are present: Telegram when TELEGRAM_BOT_TOKEN is set,
 * Discord when DISCORD_TOKEN and DISCORD_APPLICATION_ID are set, and the web playground on
 * WEB_HOST:WEB_PORT (localhost by default) unless FACECHAIN_WEB_ENABLED=false.
 * `facechain start` calls this. All of them share one bound on updates handled at once
 * (FACECHAIN_MAX_CONCURRENT_UPDATES).
 */

import path from 'node:path';
import { ConfigError } from '../base/errors.ts';
import { log } from '../base/log.ts';
import { policyFromConfig } from '../commands/kit/policy.ts';
import type { StyleView } from '../commands/kit/services.ts';
import { type Config, config as loadConfig } from '../core/config.ts';
import { BUILTIN_STYLES_DIR } from '../core/styles/catalog.ts';
import type { Producer } from '../queue/producer.ts';
import type { Deliverers } from '../queue/reply.ts';
import type { FrontEnd } from './adapter.ts';
import { producerServices } from './services.ts';
import { installedStyles } from './styles.ts';
import { UpdateLimit } from './update-limit.ts';

const logger = log('frontends');

export interface FrontendContext {
  producer: Producer;
  /**
   * Filled with one Deliverer per started platform. Pass the same object to the worker that
   * serves the deliver queue; it looks deliverers up at delivery time.
   */
  deliverers: Deliverers;
  config?: Config;
  /** Installed style packs; default: the packs shipped in core/styles/packs. */
  styles?: () => Promise<StyleView[]>;
}

/** Telegram's rule for `secret_token`: 1-256 of A-Z a-z 0-9 _ -. */
const WEBHOOK_SECRET_RE = /^[A-Za-z0-9_-]{1,256}$/;

/**
 * Front-end settings that cannot work, refused before anything starts. A webhook URL without a
 * secret would otherwise have to choose between accepting anyone's forged updates and silently
 * polling instead of the webhook the operator asked for.
 */
export function checkFrontendSettings(cfg: Config): void {
  if (!cfg.TELEGRAM_BOT_TOKEN) return;
  const url = cfg.TELEGRAM_WEBHOOK_URL;
  const secret = cfg.TELEGRAM_WEBHOOK_SECRET;
  if (url) {
    let ok = false;
    try {
      ok = ['https:', 'http:'].includes(new URL(url).protocol);
    } catch {}
    if (!ok)
      throw new ConfigError(
        'bad_webhook_url',
        'TELEGRAM_WEBHOOK_URL must be the full public HTTPS address Telegram calls, e.g. https://bot.example.org/telegram.',
      );
    if (!secret)
      throw new ConfigError(
        'webhook_secret_missing',
        'TELEGRAM_WEBHOOK_URL is set but TELEGRAM_WEBHOOK_SECRET is not: set TELEGRAM_WEBHOOK_SECRET ' +
          '(1-256 of A-Z a-z 0-9 _ -, e.g. from "openssl rand -hex 32") so that only Telegram can post updates, ' +
          'or unset TELEGRAM_WEBHOOK_URL to use long polling.',
      );
  }
  if (secret && !WEBHOOK_SECRET_RE.test(secret))
    throw new ConfigError(
      'bad_webhook_secret',
      "TELEGRAM_WEBHOOK_SECRET may hold only A-Z a-z 0-9 _ - and at most 256 characters (Telegram's rule).",
    );
  if (secret && !url)
    logger.warn(
      'TELEGRAM_WEBHOOK_SECRET is set without TELEGRAM_WEBHOOK_URL: long polling, the secret is unused',
    );
}

export async function startFrontends(ctx: FrontendContext): Promise<FrontEnd[]> {
  const cfg = ctx.config ?? loadConfig();
  checkFrontendSettings(cfg);
  const updates = new UpdateLimit(cfg.FACECHAIN_MAX_CONCURRENT_UPDATES);
  const services = producerServices(ctx.producer, {
    styles: ctx.styles ?? (await installedStyles([BUILTIN_STYLES_DIR, cfg.stylesDir])),
  });
  // The operator's ban list, blocklist and switches, read once and enforced by every front-end.
  const dispatch = { policy: policyFromConfig(cfg) };
  const started: FrontEnd[] = [];
  try {
    if (cfg.TELEGRAM_BOT_TOKEN) {
      const { TelegramFrontend } = await import('./telegram/bot.ts');
      const webhook =
        cfg.TELEGRAM_WEBHOOK_URL && cfg.TELEGRAM_WEBHOOK_SECRET // both or neither: checked above
          ? {
              url: cfg.TELEGRAM_WEBHOOK_URL,
              secret: cfg.TELEGRAM_WEBHOOK_SECRET,
              port: cfg.FACECHAIN_TELEGRAM_WEBHOOK_PORT,
              host: cfg.FACECHAIN_TELEGRAM_WEBHOOK_HOST,
            }
          : undefined;
      const tg = new TelegramFrontend({
        token: cfg.TELEGRAM_BOT_TOKEN,
        services,
        apiRoot: cfg.TELEGRAM_API_ROOT,
        webhook,
        editIntervalMs: cfg.FACECHAIN_TELEGRAM_EDIT_INTERVAL_MS,
        dispatch,
        updates,
      });
      await tg.start();
      ctx.deliverers.telegram = tg;
      started.push(tg);
    }
    if (cfg.DISCORD_TOKEN && cfg.DISCORD_APPLICATION_ID) {
      const { DiscordFrontend } = await import('./discord/bot.ts');
      const dc = new DiscordFrontend({
        token: cfg.DISCORD_TOKEN,
        applicationId: cfg.DISCORD_APPLICATION_ID,
        guildId: cfg.DISCORD_GUILD_ID,
        apiRoot: cfg.DISCORD_API_ROOT,
        register: cfg.FACECHAIN_DISCORD_REGISTER,
        editIntervalMs: cfg.FACECHAIN_DISCORD_EDIT_INTERVAL_MS,
        services,
        dispatch,
        updates,
      });
      await dc.start();
      ctx.deliverers.discord = dc;
      started.push(dc);
    }
    if (cfg.FACECHAIN_WEB_ENABLED) {
      const { WebFrontend } = await import('./web/server.ts');
      const web = new WebFrontend({
        services,
        port: cfg.WEB_PORT,
        host: cfg.WEB_HOST,
        updates,
        dispatch,
        // In the data folder, not the system temp folder, which is often a RAM disk (tmpfs).
        uploadDir: path.join(cfg.dataDir, 'tmp', 'web-uploads'),
      });
      await web.start();
      ctx.deliverers.web = web;
      started.push(web);
    }
  } catch (e) {
    await Promise.allSettled(started.map((f) => f.stop()));
    throw e;
  }
  logger.info({ frontends: started.map((f) => f.name) }, 'front-ends started');
  return started;
}
