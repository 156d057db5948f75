/**
 * The Telegram front-end (grammY). Long polling by default; webhook mode with secret_token
 * verification when a webhook URL is configured. Every update becomes an invocation for the
 * shared dispatcher; nothing here processes images.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { autoRetry } from '@grammyjs/auto-retry';
import { Bot, type Context, GrammyError, HttpError, InputFile, webhookCallback } from 'grammy';
import type { Message, Update, UserFromGetMe } from 'grammy/types';
import { FacechainError, ServiceError } from '../../base/errors.ts';
import { translate } from '../../base/i18n/index.ts';
import { log } from '../../base/log.ts';
import { invitationFor } from '../../commands/group.ts';
import { COMMANDS } from '../../commands/index.ts';
import { parseButtonId } from '../../commands/kit/buttons.ts';
import { type DispatchOptions, localeFor, translator } from '../../commands/kit/dispatch.ts';
import { parseTextCommand } from '../../commands/kit/parse-text.ts';
import type { Services } from '../../commands/kit/services.ts';
import type { Invocation } from '../../commands/kit/types.ts';
import type { Deliverer, DeliveryContext, Reply, ReplyTarget } from '../../queue/reply.ts';
import { type FrontEnd, imageBytes } from '../adapter.ts';
import { Conversation } from '../conversation.ts';
import { KeyedSerial } from '../serial.ts';
import type { UpdateLimit } from '../update-limit.ts';
import { AlbumCollector } from './album.ts';
import { updateGuard } from './guard.ts';
import {
  attachmentsOf,
  botIdOf,
  type FileAccess,
  invocationFrom,
  PUBLIC_DOWNLOAD_LIMIT,
  tooBigError,
} from './invocation.ts';
import { progressMessage } from './progress-message.ts';
import { renderTelegram } from './render.ts';

const logger = log('telegram');

export const DEFAULT_API_ROOT = 'https://api.telegram.org';
const ALLOWED_UPDATES = ['message', 'callback_query', 'chat_member', 'my_chat_member'] as const;
/** Longest wait for a batch's answers before confirming it (a slow download holds up no more). */
const CONFIRM_WAIT_MS = 10_000;

export interface TelegramOptions {
  token: string;
  services: Services;
  /** Bot API root; a self-hosted Bot API server lifts the 20 MB download limit. */
  apiRoot?: string;
  webhook?: { url: string; secret: string; port: number; host: string };
  /** Minimum time between progress edits in one chat. */
  editIntervalMs?: number;
  /** What the dispatcher enforces (the operator's policy). Default: from the settings. */
  dispatch?: DispatchOptions;
  /** How long to wait for more items of an album. */
  albumWaitMs?: number;
  /** Longest retry_after to honour before failing a call. */
  maxRetryDelaySeconds?: number;
  progressPollMs?: number;
  /** Skip getMe at start (tests, benches). */
  botInfo?: UserFromGetMe;
  /** Bound on updates handled at once, shared with the other front-ends (bot/update-limit.ts). */
  updates?: UpdateLimit;
}

export class TelegramFrontend implements FrontEnd, Deliverer {
  readonly name = 'telegram';
  readonly bot: Bot;
  /** This bot's id (its token's prefix): scopes update ids and names its delivery lane. */
  readonly botId: string;
  private readonly conversation: Conversation;
  private readonly albums: AlbumCollector<{ ctx: Context; msg: Message }>;
  private readonly serial = new KeyedSerial();
  private server?: http.Server;
  private readonly files: FileAccess;

  constructor(private readonly opts: TelegramOptions) {
    const apiRoot = (opts.apiRoot ?? DEFAULT_API_ROOT).replace(/\/$/, '');
    this.botId = opts.botInfo ? String(opts.botInfo.id) : botIdOf(opts.token);
    this.bot = new Bot(opts.token, {
      client: { apiRoot },
      ...(opts.botInfo ? { botInfo: opts.botInfo } : {}),
    });
    this.bot.api.config.use(
      autoRetry({
        maxRetryAttempts: 5,
        maxDelaySeconds: opts.maxRetryDelaySeconds ?? 60,
        rethrowHttpErrors: false,
      }),
    );
    // Long polling confirms a batch of updates by asking for the next: ask once this batch is
    // answered (bounded), so a bot process killed meanwhile gets them re-sent, not lost.
    this.bot.api.config.use(async (prev, method, payload, signal) => {
      if (method === 'getUpdates') await this.settled(CONFIRM_WAIT_MS);
      return prev(method, payload, signal);
    });
    this.conversation = new Conversation({
      services: opts.services,
      ...(opts.dispatch ? { dispatch: opts.dispatch } : {}),
      editIntervalMs: opts.editIntervalMs ?? 3000,
      progressPollMs: opts.progressPollMs,
      updates: opts.updates,
    });
    this.albums = new AlbumCollector(opts.albumWaitMs ?? 800, (groupId, items) => {
      const first = items.find((i) => i.msg.caption?.startsWith('/')) ?? items[0];
      const cmd = (first.msg.caption && parseTextCommand(first.msg.caption)) || {
        command: 'train',
        options: {},
      };
      const attachments = items.flatMap((i) => attachmentsOf(i.msg, this.files));
      const inv = invocationFrom(
        first.ctx,
        this.botId,
        `mg${groupId}`,
        cmd.command,
        cmd.options,
        attachments,
      );
      void this.schedule(first.msg.chat.id, () => this.handle(first.ctx, inv));
    });
    const selfHosted = apiRoot !== DEFAULT_API_ROOT;
    this.files = {
      downloadLimit: selfHosted ? Number.POSITIVE_INFINITY : PUBLIC_DOWNLOAD_LIMIT,
      download: async (fileId, size) => {
        if (size !== undefined && size > this.files.downloadLimit)
          throw tooBigError(size, this.files.downloadLimit);
        const file = await this.bot.api.getFile(fileId);
        if (!file.file_path) throw tooBigError(size ?? PUBLIC_DOWNLOAD_LIMIT + 1, this.files.downloadLimit);
        // A self-hosted server in --local mode answers with a path on its own disk.
        if (path.isAbsolute(file.file_path)) return new Uint8Array(await readFile(file.file_path));
        const res = await fetch(`${apiRoot}/file/bot${opts.token}/${file.file_path}`);
        if (!res.ok)
          throw new ServiceError('telegram_download', `Telegram file download failed (${res.status}).`);
        return new Uint8Array(await res.arrayBuffer());
      },
    };
    this.install();
  }

  private install(): void {
    const bot = this.bot;
    bot.use(updateGuard());
    bot.on('callback_query:data', async (ctx) => {
      await ctx.answerCallbackQuery().catch(() => {});
      const parsed = parseButtonId(ctx.callbackQuery.data);
      if (!parsed || !ctx.chat) return;
      const inv = invocationFrom(
        ctx,
        this.botId,
        `cb${ctx.callbackQuery.id}`,
        parsed.command,
        parsed.options,
        [],
      );
      await this.schedule(ctx.chat.id, () => this.handle(ctx, inv));
    });
    bot.on('message:new_chat_members', async (ctx) => {
      for (const u of ctx.message.new_chat_members) if (!u.is_bot) await this.invite(ctx, u.id, u.first_name);
    });
    bot.on('chat_member', async (ctx) => {
      const { old_chat_member: before, new_chat_member: after } = ctx.chatMember;
      const joined =
        ['left', 'kicked'].includes(before.status) && ['member', 'restricted'].includes(after.status);
      if (joined && !after.user.is_bot) await this.invite(ctx, after.user.id, after.user.first_name);
    });
    bot.on('message', async (ctx) => {
      const msg = ctx.message;
      if (msg.media_group_id) {
        this.albums.add(msg.media_group_id, { ctx, msg });
        return;
      }
      const text = msg.text ?? msg.caption;
      let cmd = text ? parseTextCommand(text) : undefined;
      const attachments = attachmentsOf(msg, this.files);
      if (!cmd && attachments.length && msg.chat.type === 'private') {
        // A photo or image file sent to the bot in private means "use these photos".
        // A .safetensors file is a style LoRA upload.
        const lora = /\.safetensors$/i.test(msg.document?.file_name ?? '');
        cmd = { command: lora ? 'mystyle' : msg.voice || msg.audio ? 'talk' : 'train', options: {} };
      }
      if (!cmd) return;
      const inv = invocationFrom(
        ctx,
        this.botId,
        `u${ctx.update.update_id}`,
        cmd.command,
        cmd.options,
        attachments,
      );
      await this.schedule(msg.chat.id, () => this.handle(ctx, inv));
    });
    bot.catch((err) => logger.error({ err: err.error }, 'telegram handler failed'));
  }

  /**
   * Run a chat's task in order after its earlier ones. Polling handlers return at once (a slow
   * chat holds up no other; getUpdates waits for the batch); a webhook request waits for its
   * answer, so Telegram re-sends what a killed process never answered.
   */
  private schedule(chatId: number, task: () => Promise<void>): Promise<void> {
    const done = this.serial.run(String(chatId), task);
    return this.opts.webhook ? done : Promise.resolve();
  }

  /**
   * Until every handled update is answered, at most `ms`. Albums still collecting are not waited
   * for: their next items may only come with the next batch (an album being collected when the
   * process is killed is lost; 0.8 s at most).
   */
  private async settled(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    // Unref'd and cleared: a pending wait must not keep a stopping process alive.
    const limit = new Promise<void>((r) => {
      timer = setTimeout(r, ms);
      timer.unref();
    });
    await Promise.race([this.serial.idle(), limit]);
    clearTimeout(timer);
  }

  /** Answer one invocation in its chat: replies to the message, progress edits that message. */
  private handle(ctx: Context, inv: Invocation): Promise<void> {
    const chatId = inv.chat.id;
    const read = (r: string) => this.opts.services.uploads.get(r);
    return this.conversation.handle(inv, {
      action: async (reply) => {
        if (reply.action?.kind !== 'set-chat-photo') return reply;
        const bytes = await imageBytes(reply.action.image, read);
        await ctx.api.setChatPhoto(chatId, new InputFile(bytes, 'group.jpg')).catch((e: unknown) => {
          throw new FacechainError(
            'no_rights',
            `I could not set the group picture: ${describe(e)}. Give the bot the "Change group info" right.`,
          );
        });
        return reply;
      },
      send: async (out) => {
        const messageId = await renderTelegram(ctx.api, { chatId, replyTo: ctx.msg?.message_id }, out, read);
        if (messageId === undefined) return undefined;
        return progressMessage(this.bot.api, chatId, messageId);
      },
      failed: async (message) => void (await ctx.api.sendMessage(chatId, message)),
    });
  }

  private async invite(ctx: Context, userId: number, name: string): Promise<void> {
    if (!ctx.chat) return;
    const chat = { platform: 'telegram' as const, id: String(ctx.chat.id), kind: 'group' as const };
    const user = { platform: 'telegram' as const, id: String(userId) };
    const t = translator(
      await localeFor(this.opts.services, { user, platformLocale: ctx.from?.language_code }),
    );
    const reply = await invitationFor(this.opts.services, chat, user, name, t, this.opts.dispatch?.policy);
    if (!reply) return;
    // A join can arrive twice (service message and chat_member update): invite once a day.
    if (!(await this.opts.services.firstSeen('telegram', `join_${this.botId}_${ctx.chat.id}_${userId}`)))
      return;
    // Privately where the platform allows (only after the user has started the bot); else in the group.
    try {
      await this.bot.api.sendMessage(userId, reply.text);
    } catch {
      await this.bot.api
        .sendMessage(ctx.chat.id, reply.text)
        .catch((err) => logger.warn({ err }, 'invite failed'));
    }
  }

  /** Deliverer: a job's result (or failure) for a chat, sent once per delivery job. */
  async deliver(target: ReplyTarget, reply: Reply, ctx: DeliveryContext): Promise<void> {
    const chatId = target.privateDelivery ? target.userId : target.chatId;
    const replyTo = typeof target.extra?.replyTo === 'number' ? target.extra.replyTo : undefined;
    try {
      await this.conversation.deliver(target, reply, ctx, (out) =>
        renderTelegram(
          this.bot.api,
          { chatId, replyTo },
          out,
          async (r) => new Uint8Array(await ctx.artifacts.read(r)),
        ).then(() => {}),
      );
    } catch (e) {
      if (e instanceof HttpError || (e instanceof GrammyError && e.error_code >= 500)) {
        throw new ServiceError(
          'telegram_unavailable',
          `Telegram did not accept the message: ${describe(e)}`,
          { cause: e },
        );
      }
      // 4xx (blocked by the user, chat gone): retrying cannot help.
      throw new FacechainError('telegram_refused', `Telegram refused the message: ${describe(e)}`, {
        cause: e,
      });
    }
  }

  /** The command menu users see when typing "/", in English and (for zh clients) Chinese. */
  private async registerCommands(): Promise<void> {
    const list = (locale: 'en' | 'zh-CN') =>
      COMMANDS.filter((c) => c.listed).map((c) => ({
        command: c.name,
        description: translate(locale, c.description),
      }));
    try {
      await this.bot.api.setMyCommands(list('en'));
      await this.bot.api.setMyCommands(list('zh-CN'), { language_code: 'zh' });
    } catch (err) {
      logger.warn({ err }, 'could not set the command menu');
    }
  }

  /** Feed one update (webhook servers, benches). */
  handleUpdate(update: Update): Promise<void> {
    return this.bot.handleUpdate(update);
  }

  async start(): Promise<void> {
    const hook = this.opts.webhook;
    await this.bot.init();
    await this.registerCommands();
    if (!hook) {
      void this.bot
        .start({
          allowed_updates: [...ALLOWED_UPDATES],
          onStart: (me) => logger.info({ bot: me.username }, 'polling'),
        })
        .catch((err) => logger.error({ err }, 'polling stopped'));
      return;
    }
    await this.bot.api.setWebhook(hook.url, {
      secret_token: hook.secret,
      allowed_updates: [...ALLOWED_UPDATES],
    });
    // Answer fast and let Telegram re-send on failure: updates are deduplicated by id.
    const handler = webhookCallback(this.bot, 'http', { secretToken: hook.secret, onTimeout: 'return' });
    this.server = http.createServer((req, res) => {
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return;
      }
      handler(req, res).catch((err) => {
        logger.warn({ err }, 'webhook update failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(hook.port, hook.host, resolve));
    logger.info({ port: hook.port }, 'webhook listening');
  }

  /** The webhook server's port (when listening). */
  get webhookPort(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  /** Wait for in-flight handlers (tests). */
  async idle(): Promise<void> {
    await this.serial.idle();
  }

  async stop(): Promise<void> {
    this.albums.stop();
    if (this.bot.isRunning()) await this.bot.stop();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
    await this.serial.idle();
    await this.conversation.stop();
  }
}

function describe(e: unknown): string {
  if (e instanceof GrammyError) return e.description;
  return e instanceof Error ? e.message : String(e);
}
