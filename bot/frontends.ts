/**
 * Starts every front-end whose settings are present: Telegram when TELEGRAM_BOT_TOKEN is set,
 * Discord when DISCORD_TOKEN and DISCORD_APPLICATION_ID are set, and the web playground on
 * WEB_HOST:WEB_PORT (localhost by default) unless FACECHAIN_WEB_ENABLED=false.
 * `facechain start` calls this.
 */

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

export async function startFrontends(ctx: FrontendContext): Promise<FrontEnd[]> {
  const cfg = ctx.config ?? loadConfig();
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
        cfg.TELEGRAM_WEBHOOK_URL && cfg.TELEGRAM_WEBHOOK_SECRET
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
      });
      await dc.start();
      ctx.deliverers.discord = dc;
      started.push(dc);
    }
    if (cfg.FACECHAIN_WEB_ENABLED) {
      const { WebFrontend } = await import('./web/server.ts');
      const web = new WebFrontend({ services, port: cfg.WEB_PORT, host: cfg.WEB_HOST, dispatch });
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
