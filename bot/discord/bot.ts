/**
 * The Discord front-end (discord.js). Every interaction is acknowledged at once (deferReply,
 * well inside Discord's 3 s), then dispatched; replies are edits of the deferred message,
 * progress edits are throttled, and results arrive by follow-up while the 15-minute interaction
 * token lives, else as a normal channel message (or DM for private delivery).
 */
import {
  ActionRowBuilder,
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  type GuildMember,
  type Interaction,
  MessageFlags,
  ModalBuilder,
  type ModalSubmitInteraction,
  PermissionFlagsBits,
  Routes,
  type StringSelectMenuInteraction,
  TextInputBuilder,
  TextInputStyle,
} from 'discord.js';
import { FacechainError, ServiceError } from '../../base/errors.ts';
import { resolveLocale } from '../../base/i18n/index.ts';
import { log } from '../../base/log.ts';
import { invitationFor } from '../../commands/group.ts';
import { parseButtonId } from '../../commands/kit/buttons.ts';
import { type DispatchOptions, localeFor, translator } from '../../commands/kit/dispatch.ts';
import { type Services, styleText } from '../../commands/kit/services.ts';
import type { CommandReply } from '../../commands/kit/types.ts';
import type { Deliverer, DeliveryContext, Reply, ReplyTarget } from '../../queue/reply.ts';
import { type FrontEnd, imageBytes, type Outgoing } from '../adapter.ts';
import { Conversation } from '../conversation.ts';
import type { UpdateLimit } from '../update-limit.ts';
import { commandDefinitions } from './definitions.ts';
import { DEFAULT_UPLOAD_LIMIT } from './fit.ts';
import { guardInteractions } from './guard.ts';
import { attachmentsOf, invocationFrom, optionsOf } from './invocation.ts';
import { type DiscordPayload, toPayloads } from './render.ts';

const logger = log('discord');

/** Interactions the bot answers with a (deferred) message. */
type Answerable =
  | ChatInputCommandInteraction
  | ButtonInteraction
  | StringSelectMenuInteraction
  | ModalSubmitInteraction;

/** Interaction tokens last 15 minutes; stop using one a little before. */
const TOKEN_LIFETIME_MS = 14 * 60_000;
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
/** Replies only the invoking user should see. */
const EPHEMERAL = new Set(['consent', 'status', 'cancel', 'settings', 'forget']);

export interface DiscordOptions {
  token: string;
  applicationId: string;
  services: Services;
  /** Register commands in this guild (instant) instead of globally. */
  guildId?: string;
  /** REST API root (e.g. a proxy); the gateway URL is the one this API announces. */
  apiRoot?: string;
  register?: boolean;
  editIntervalMs?: number;
  /** What the dispatcher enforces (the operator's policy). Default: from the settings. */
  dispatch?: DispatchOptions;
  progressPollMs?: number;
  /** Bound on interactions handled at once (after the acknowledgement), shared with the other front-ends. */
  updates?: UpdateLimit;
}

/** How often idle REST rate-limit handlers are dropped (discord.js's default: an hour). */
export const REST_HANDLER_SWEEP_MS = 10 * 60_000;

export class DiscordFrontend implements FrontEnd, Deliverer {
  readonly name = 'discord';
  /** The application id: names this bot's delivery lane (queue/delivery/entry.ts). */
  get botId(): string {
    return this.opts.applicationId;
  }
  readonly client: Client;
  private readonly conversation: Conversation;
  /** Interaction tokens by interaction id: kept in memory only, never in job payloads. */
  private readonly tokens = new Map<string, { token: string; expires: number; limit: number }>();
  /** Acknowledgement latency per interaction (ms from receipt to the defer call returning). */
  readonly ackMs: number[] = [];

  constructor(private readonly opts: DiscordOptions) {
    this.client = new Client({
      // GuildMembers (privileged: enable "Server Members Intent" in the developer portal) drives
      // the member-join invitation; nothing else needs more than Guilds.
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMembers],
      rest: {
        ...(opts.apiRoot ? { api: opts.apiRoot.replace(/\/$/, '') } : {}),
        // discord.js keeps a rate-limit handler per interaction token (the token is part of the
        // webhook route) and sweeps idle ones hourly; a token lives 15 minutes, so sweep sooner
        // (docs/load.md, "Soak": about 900 handlers per 10 minutes of interactions otherwise).
        handlerSweepInterval: REST_HANDLER_SWEEP_MS,
      },
    });
    this.conversation = new Conversation({
      services: opts.services,
      ...(opts.dispatch ? { dispatch: opts.dispatch } : {}),
      editIntervalMs: opts.editIntervalMs ?? 2000,
      progressPollMs: opts.progressPollMs,
      followMaxMs: TOKEN_LIFETIME_MS,
      updates: opts.updates,
    });
    guardInteractions(this.client);
    this.client.on(Events.InteractionCreate, (i) =>
      this.conversation.background(() => this.onInteraction(i)),
    );
    this.client.on(Events.GuildMemberAdd, (m) => this.conversation.background(() => this.onMemberJoin(m)));
    this.client.on(Events.Error, (err) => logger.warn({ err }, 'discord client error'));
  }

  async start(): Promise<void> {
    this.client.rest.setToken(this.opts.token);
    if (this.opts.register !== false) {
      const route = this.opts.guildId
        ? Routes.applicationGuildCommands(this.opts.applicationId, this.opts.guildId)
        : Routes.applicationCommands(this.opts.applicationId);
      await this.client.rest.put(route, { body: commandDefinitions() });
    }
    const ready = new Promise<void>((resolve) => this.client.once(Events.ClientReady, () => resolve()));
    await this.client.login(this.opts.token);
    await ready;
    logger.info({ user: this.client.user?.username }, 'discord ready');
  }

  private async onInteraction(i: Interaction): Promise<void> {
    // Only a person can be answered; a payload without a proper user or command name is ignored.
    if (!/^\d{1,20}$/.test(String(i.user?.id)) || ('commandName' in i && typeof i.commandName !== 'string'))
      return;
    if (i.isAutocomplete()) return this.autocomplete(i);
    if (!i.isChatInputCommand() && !i.isButton() && !i.isStringSelectMenu() && !i.isModalSubmit()) return;
    const received = performance.now();
    let command: string;
    let options: Record<string, unknown>;
    if (i.isChatInputCommand()) {
      command = i.commandName;
      options = optionsOf(i);
    } else {
      // Buttons carry a button id; a select menu's chosen value is one; a modal's custom id is one.
      const id = i.isStringSelectMenu() ? i.values[0] : i.customId;
      const parsed = parseButtonId(id ?? '');
      if (!parsed) return;
      ({ command, options } = parsed);
      if (i.isModalSubmit()) options.text = i.fields.getTextInputValue('text');
      // "Animate" asks for the words first: a modal must be the interaction's first answer.
      if (i.isButton() && command === 'talk' && options.action === 'animate') {
        const t = translator(
          await localeFor(this.opts.services, {
            user: { platform: 'discord', id: i.user.id },
            platformLocale: i.locale,
          }),
        );
        await i.showModal(talkModal(String(options.arg), t));
        return;
      }
    }
    // Acknowledge first: Discord drops interactions not answered within 3 s.
    await i.deferReply(EPHEMERAL.has(command) ? { flags: MessageFlags.Ephemeral } : {});
    this.ackMs.push(performance.now() - received);
    if (this.ackMs.length > 10_000) this.ackMs.splice(0, 5000);
    this.tokens.set(i.id, {
      token: i.token,
      expires: i.createdTimestamp + TOKEN_LIFETIME_MS,
      limit: i.attachmentSizeLimit ?? DEFAULT_UPLOAD_LIMIT,
    });
    this.pruneTokens();
    const inv = invocationFrom(
      i,
      this.opts.applicationId,
      command,
      options,
      i.isChatInputCommand() ? attachmentsOf(i) : [],
    );
    const entry = this.tokens.get(i.id);
    await this.conversation.handle(inv, {
      duplicate: async () => void (await i.deleteReply()),
      action: (reply) => this.setGuildIcon(i, reply),
      send: async (out) => {
        const read = (r: string) => this.opts.services.uploads.get(r);
        const [first, ...more] = await toPayloads(out, read, entry?.limit);
        await i.editReply(first);
        const flags = EPHEMERAL.has(command) ? { flags: MessageFlags.Ephemeral as const } : {};
        for (const p of more) await i.followUp({ ...p, ...flags });
        // The deferred reply is edited while the interaction token lives; a generation's preview
        // rides on it as its attachment, removed when the job ends.
        let previewShown = false;
        return {
          key: i.id,
          expires: entry?.expires ?? 0,
          edit: async (text, { view }) => {
            const drop = previewShown && TERMINAL.has(view.state);
            if (drop) previewShown = false;
            await i.editReply({ content: text.slice(0, 2000), ...(drop ? { attachments: [] } : {}) });
          },
          editMedia: async (image, text) => {
            previewShown = true;
            await i.editReply({
              content: text.slice(0, 2000),
              files: [{ attachment: Buffer.from(image.bytes), name: image.name }],
              attachments: [],
            });
          },
        };
      },
    });
  }

  private async setGuildIcon(i: Answerable, reply: CommandReply): Promise<CommandReply> {
    const t = translator(reply.locale ?? 'en');
    if (!i.inCachedGuild() || !reply.action)
      return { text: t('group.icon_servers_only'), locale: reply.locale };
    if (!i.appPermissions.has(PermissionFlagsBits.ManageGuild)) {
      return { text: t('group.icon_needs_permission'), locale: reply.locale };
    }
    const bytes = await imageBytes(reply.action.image, (r) => this.opts.services.uploads.get(r));
    try {
      await i.guild.setIcon(Buffer.from(bytes));
    } catch (e) {
      // Uncaught, this left the deferred reply "thinking" forever; say what happened instead.
      // Only the message and code: discord.js errors carry the request body (the image as base64).
      const why = e instanceof Error ? e.message : String(e);
      logger.warn({ why, code: (e as { code?: unknown }).code }, 'guild icon not set');
      return { text: t('group.icon_failed', { why }), locale: reply.locale };
    }
    return reply;
  }

  private async autocomplete(i: AutocompleteInteraction): Promise<void> {
    const focused = i.options.getFocused(true);
    if (focused.name === 'voice') {
      const voices = await this.opts.services.voices.list(String(focused.value));
      return i.respond(voices.slice(0, 25).map((v) => ({ name: v.name.slice(0, 100), value: v.id })));
    }
    if (focused.name !== 'style' && !(i.commandName === 'group' && focused.name === 'arg'))
      return i.respond([]);
    const q = String(focused.value).toLowerCase();
    const styles = await this.opts.services.styles.list();
    // Names in the user's Discord language (a pack's Chinese name for a zh client).
    const locale = resolveLocale(i.locale);
    await i.respond(
      styles
        .map((s) => ({ s, name: styleText(s, locale).name }))
        .filter(
          ({ s, name }) =>
            s.id.includes(q) || name.toLowerCase().includes(q) || s.name.toLowerCase().includes(q),
        )
        .slice(0, 25)
        .map(({ s, name }) => ({ name: name.slice(0, 100), value: s.id })),
    );
  }

  private async onMemberJoin(member: GuildMember): Promise<void> {
    if (member.user.bot) return;
    const chat = { platform: 'discord' as const, id: member.guild.id, kind: 'group' as const };
    const user = { platform: 'discord' as const, id: member.id };
    const t = translator(
      await localeFor(this.opts.services, { user, platformLocale: member.guild.preferredLocale }),
    );
    const reply = await invitationFor(
      this.opts.services,
      chat,
      user,
      member.displayName,
      t,
      this.opts.dispatch?.policy,
    );
    if (!reply) return;
    try {
      await member.send(reply.text); // privately first
    } catch {
      await member.guild.systemChannel?.send(`<@${member.id}> ${reply.text}`);
    }
  }

  private pruneTokens(): void {
    if (this.tokens.size < 1000) return;
    const now = Date.now();
    for (const [k, v] of this.tokens) if (v.expires < now) this.tokens.delete(k);
  }

  /** Deliverer: follow-up while the interaction token lives, else a channel message or DM. */
  async deliver(target: ReplyTarget, reply: Reply, ctx: DeliveryContext): Promise<void> {
    const interaction = typeof target.extra?.interaction === 'string' ? target.extra.interaction : undefined;
    const entry = interaction ? this.tokens.get(interaction) : undefined;
    const live = entry && Date.now() < entry.expires ? entry : undefined;
    await this.conversation.deliver(target, reply, ctx, (out) => this.send(target, out, ctx, live));
  }

  /** A delivered reply: to the interaction's webhook while its token lives, else the channel or a DM. */
  private async send(
    target: ReplyTarget,
    out: Outgoing,
    ctx: DeliveryContext,
    live: { token: string; limit: number } | undefined,
  ): Promise<void> {
    const payloads = await toPayloads(
      out,
      async (r) => new Uint8Array(await ctx.artifacts.read(r)),
      live?.limit,
    );
    try {
      let route: `/${string}`;
      let auth = true;
      if (target.privateDelivery) {
        const dm = (await this.client.rest.post(Routes.userChannels(), {
          body: { recipient_id: target.userId },
        })) as { id: string };
        route = Routes.channelMessages(dm.id);
      } else if (live) {
        route = Routes.webhook(this.opts.applicationId, live.token);
        auth = false;
      } else {
        route = Routes.channelMessages(target.chatId);
      }
      for (const p of payloads) await this.client.rest.post(route, { ...encode(p), auth });
    } catch (e) {
      if (e instanceof DiscordAPIError && e.status < 500) {
        // Missing access, unknown channel, too large: retrying cannot help.
        throw new FacechainError('discord_refused', `Discord refused the message: ${e.message}`, {
          cause: e,
        });
      }
      throw new ServiceError(
        'discord_unavailable',
        `Discord did not accept the message: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }

  async stop(): Promise<void> {
    await this.conversation.stop();
    await this.client.destroy();
  }
}

/** The words for a talking portrait, asked in a modal; submitting runs `talk` on the result. */
function talkModal(resultId: string, t: (key: string) => string): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(`talk:say:${resultId}`.slice(0, 100))
    .setTitle(t('talk.modal_title').slice(0, 45))
    .addComponents(
      new ActionRowBuilder<TextInputBuilder>().addComponents(
        new TextInputBuilder()
          .setCustomId('text')
          .setLabel(t('talk.modal_label').slice(0, 45))
          .setStyle(TextInputStyle.Paragraph)
          .setMaxLength(500)
          .setRequired(true),
      ),
    );
}

function encode(p: DiscordPayload): {
  body: Record<string, unknown>;
  files: Array<{ name: string; data: Buffer }>;
} {
  return {
    body: {
      content: p.content,
      components: p.components.map((c) => c.toJSON()),
      attachments: p.files.map((f, id) => ({ id, filename: f.name })),
    },
    files: p.files.map((f) => ({ name: f.name, data: f.attachment })),
  };
}
