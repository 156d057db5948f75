/**
 * A local fake of Discord: the REST API (HTTP, under /api/v10) and the gateway (WebSocket, the
 * ws package that ships with discord.js). Enough for the real discord.js Client to log in, get
 * READY and a guild, receive INTERACTION_CREATE / GUILD_MEMBER_ADD dispatches, and answer with
 * interaction callbacks, webhook follow-ups, channel messages, DMs and guild edits. 429 answers
 * with retry_after can be injected per route.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

export const APP_ID = '900000000000000001';
export const GUILD_ID = '900000000000000002';
export const CHANNEL_ID = '900000000000000003';
export const TOKEN = 'ZmFrZQ.fake-discord-token.for-tests-only';

export interface RestCall {
  method: string;
  path: string;
  body: unknown;
  files: Array<{ name: string; size: number; bytes: Uint8Array }>;
  at: number;
}

export interface DcUser {
  id: string;
  username: string;
  global_name?: string;
}

let increment = 0n;
/** Real-shaped snowflakes: milliseconds since the Discord epoch << 22 (discord.js reads times from them). */
export const nextId = (): string =>
  String(((BigInt(Date.now()) - 1420070400000n) << 22n) | (increment++ & 0x3fffffn));

export interface FakeDiscordOptions {
  /** The application this fake answers for (a second bot on one Redis gets its own fake and id). */
  appId?: string;
  /** Keep every call in `calls` and the acknowledgement times (tests); a long load run reads `onCall`. */
  keepCalls?: boolean;
}

/** The message a component interaction comes with (the shape discord.js reads). */
export function messageObject<A>(id: string, channelId: string, author: A) {
  return {
    id,
    channel_id: channelId,
    content: 'x',
    author,
    attachments: [],
    embeds: [],
    components: [],
    timestamp: new Date().toISOString(),
    type: 0,
    flags: 0,
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    pinned: false,
  };
}

export class FakeDiscord {
  readonly calls: RestCall[] = [];
  readonly appId: string;
  private readonly keepCalls: boolean;
  /** Sees every REST call as it arrives (load generators, tests). */
  onCall?: (call: RestCall) => void;
  private server: http.Server;
  private wss: WebSocketServer;
  private sockets = new Set<WebSocket>();
  private seq = 1;
  private failures = new Map<string, number[]>();
  private attachments = new Map<string, Uint8Array>();
  url = '';
  /** Time each interaction was dispatched, by interaction id (for acknowledgement latency). */
  readonly dispatchedAt = new Map<string, number>();
  /** Time each interaction's first callback (the acknowledgement) arrived, by interaction id. */
  readonly ackedAt = new Map<string, number>();
  /** Guild edits (icon) answer 403 Missing Permissions, as when the bot's role lost the right. */
  refuseGuildEdit = false;
  /** Resolves when a client finished IDENTIFY and got READY. */
  ready: Promise<void>;
  private markReady!: () => void;

  constructor(opts: FakeDiscordOptions = {}) {
    this.appId = opts.appId ?? APP_ID;
    this.keepCalls = opts.keepCalls ?? true;
    this.server = http.createServer((req, res) => {
      this.route(req, res).catch((e) => res.writeHead(500).end(String(e)));
    });
    this.wss = new WebSocketServer({ server: this.server });
    this.wss.on('connection', (ws) => this.onSocket(ws));
    this.ready = new Promise((r) => {
      this.markReady = r;
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Whether a client holds a gateway connection (an interaction sent now reaches a bot). */
  get connected(): boolean {
    return this.sockets.size > 0;
  }

  /** The REST root to give discord.js (`rest.api`). */
  get api(): string {
    return `${this.url}/api`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** The next call(s) whose "METHOD /path" matches `re` answer 429 with retry_after (seconds). */
  rateLimitNext(re: RegExp, retryAfter: number): void {
    this.failures.set(re.source, [...(this.failures.get(re.source) ?? []), retryAfter]);
  }

  addAttachment(filename: string, bytes: Uint8Array, contentType = 'image/jpeg'): Record<string, unknown> {
    const id = nextId();
    this.attachments.set(id, bytes);
    return {
      id,
      filename,
      size: bytes.byteLength,
      content_type: contentType,
      url: `${this.url}/attachments/${id}/${filename}?ex=1&is=1&hm=signature`,
      proxy_url: `${this.url}/attachments/${id}/${filename}`,
    };
  }

  /** A fake oversized attachment (never downloaded in a correct bot). */
  bigAttachment(filename: string, size: number): Record<string, unknown> {
    const id = nextId();
    return {
      id,
      filename,
      size,
      content_type: 'image/jpeg',
      url: `${this.url}/attachments/${id}/${filename}`,
      proxy_url: '',
    };
  }

  send(t: string, d: unknown): void {
    const payload = JSON.stringify({ op: 0, t, s: this.seq++, d });
    for (const s of this.sockets) s.send(payload);
  }

  /** Dispatch a slash command interaction; returns its id. */
  slash(
    user: DcUser,
    name: string,
    options: Array<{ name: string; type: number; value: unknown }> = [],
    extra: {
      attachments?: Record<string, unknown>[];
      admin?: boolean;
      locale?: string;
      dm?: boolean;
      appPermissions?: string;
    } = {},
  ): string {
    const resolved = extra.attachments?.length
      ? { attachments: Object.fromEntries(extra.attachments.map((a) => [a.id as string, a])) }
      : undefined;
    return this.interaction(
      user,
      2,
      { id: nextId(), name, type: 1, options, ...(resolved ? { resolved } : {}) },
      extra,
    );
  }

  button(
    user: DcUser,
    customId: string,
    extra: { admin?: boolean; locale?: string; dm?: boolean } = {},
  ): string {
    return this.interaction(user, 3, { custom_id: customId, component_type: 2 }, extra, {
      message: messageObject(nextId(), CHANNEL_ID, this.botUser()),
    });
  }

  /** A choice in a select menu (component type 3) on one of the bot's messages. */
  select(user: DcUser, customId: string, values: string[], extra: { dm?: boolean } = {}): string {
    return this.interaction(user, 3, { custom_id: customId, component_type: 3, values }, extra, {
      message: this.botMessage(),
    });
  }

  /** A submitted modal with one text input named `text`. */
  modalSubmit(user: DcUser, customId: string, text: string, extra: { dm?: boolean } = {}): string {
    return this.interaction(
      user,
      5,
      {
        custom_id: customId,
        components: [{ type: 1, components: [{ type: 4, custom_id: 'text', value: text }] }],
      },
      extra,
    );
  }

  private botMessage(): Record<string, unknown> {
    return {
      id: nextId(),
      channel_id: CHANNEL_ID,
      content: 'x',
      author: this.botUser(),
      attachments: [],
      embeds: [],
      components: [],
      timestamp: new Date().toISOString(),
      type: 0,
      flags: 0,
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      pinned: false,
    };
  }

  autocomplete(user: DcUser, name: string, focused: { name: string; value: string }): string {
    return this.interaction(
      user,
      4,
      { id: nextId(), name, type: 1, options: [{ ...focused, type: 3, focused: true }] },
      {},
    );
  }

  private botUser() {
    return {
      id: this.appId,
      username: 'facechain',
      discriminator: '0',
      bot: true,
      avatar: null,
      global_name: null,
    };
  }

  private interaction(
    user: DcUser,
    type: number,
    data: Record<string, unknown>,
    extra: { admin?: boolean; locale?: string; dm?: boolean; appPermissions?: string },
    more: Record<string, unknown> = {},
  ): string {
    const id = nextId();
    const u = {
      id: user.id,
      username: user.username,
      global_name: user.global_name ?? null,
      discriminator: '0',
      avatar: null,
    };
    // ADMINISTRATOR | MANAGE_GUILD for admins; SEND_MESSAGES | VIEW_CHANNEL for members.
    const permissions = extra.admin ? String(0x8 | 0x20) : String(0x800 | 0x400);
    const where = extra.dm
      ? { user: u, channel_id: CHANNEL_ID, channel: { id: CHANNEL_ID, type: 1 }, context: 1 }
      : {
          guild_id: GUILD_ID,
          channel_id: CHANNEL_ID,
          channel: { id: CHANNEL_ID, type: 0, name: 'general', guild_id: GUILD_ID },
          member: {
            user: u,
            roles: [],
            joined_at: new Date().toISOString(),
            deaf: false,
            mute: false,
            flags: 0,
            permissions,
          },
          guild_locale: 'en-US',
          context: 0,
        };
    if (this.keepCalls) this.dispatchedAt.set(id, performance.now());
    this.send('INTERACTION_CREATE', {
      id,
      application_id: this.appId,
      type,
      data,
      token: `itok-${id}`,
      version: 1,
      locale: extra.locale ?? 'en-US',
      app_permissions: extra.appPermissions ?? String(0x8 | 0x20 | 0x800 | 0x8000),
      entitlements: [],
      authorizing_integration_owners: {},
      attachment_size_limit: 10 * 1024 * 1024,
      ...where,
      ...more,
    });
    return id;
  }

  memberJoin(user: DcUser): void {
    this.send('GUILD_MEMBER_ADD', {
      guild_id: GUILD_ID,
      user: {
        id: user.id,
        username: user.username,
        discriminator: '0',
        avatar: null,
        global_name: user.global_name ?? null,
      },
      roles: [],
      joined_at: new Date().toISOString(),
      deaf: false,
      mute: false,
      flags: 0,
    });
  }

  async waitFor<T>(pred: (calls: RestCall[]) => T | undefined | false, ms = 20_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = pred(this.calls);
      if (v) return v;
      if (Date.now() > end) {
        throw new Error(
          `timed out; REST calls:\n${this.calls.map((c) => `${c.method} ${c.path} ${String(JSON.stringify(c.body) ?? '').slice(0, 200)}`).join('\n')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Message contents the bot produced (callbacks, follow-ups, edits, channel messages). */
  contents(calls = this.calls): string[] {
    return calls.map((c) => contentOf(c.body)).filter((x): x is string => typeof x === 'string');
  }

  private onSocket(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41250 } }));
    ws.on('message', (raw) => {
      const msg = JSON.parse(String(raw)) as { op: number; d: unknown };
      if (msg.op === 1) ws.send(JSON.stringify({ op: 11 }));
      if (msg.op === 2) {
        ws.send(
          JSON.stringify({
            op: 0,
            t: 'READY',
            s: this.seq++,
            d: {
              v: 10,
              user: { ...this.botUser(), flags: 0 },
              guilds: [{ id: GUILD_ID, unavailable: true }],
              session_id: 'fake-session',
              resume_gateway_url: this.url.replace('http', 'ws'),
              application: { id: this.appId, flags: 0 },
              shard: [0, 1],
            },
          }),
        );
        ws.send(JSON.stringify({ op: 0, t: 'GUILD_CREATE', s: this.seq++, d: this.guild() }));
        this.markReady();
      }
    });
  }

  private guild(): Record<string, unknown> {
    return {
      id: GUILD_ID,
      name: 'Friends',
      icon: null,
      owner_id: '1',
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: [
        {
          id: GUILD_ID,
          name: '@everyone',
          permissions: String(0x800 | 0x400),
          position: 0,
          color: 0,
          hoist: false,
          managed: false,
          mentionable: false,
          flags: 0,
        },
      ],
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      system_channel_id: CHANNEL_ID,
      system_channel_flags: 0,
      preferred_locale: 'en-US',
      premium_tier: 0,
      nsfw_level: 0,
      joined_at: new Date().toISOString(),
      large: false,
      unavailable: false,
      member_count: 3,
      voice_states: [],
      members: [],
      channels: [
        {
          id: CHANNEL_ID,
          type: 0,
          name: 'general',
          position: 0,
          permission_overwrites: [],
          guild_id: GUILD_ID,
        },
      ],
      threads: [],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const att = /^\/attachments\/(\d+)\//.exec(url.pathname);
    if (att) {
      const bytes = this.attachments.get(att[1]);
      if (!bytes) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(bytes);
      return;
    }
    const path = decodeURIComponent(url.pathname).replace(/^\/api\/v\d+/, '');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const { body, files } = parseBody(raw, req.headers['content-type'] ?? '');
    const method = req.method ?? 'GET';
    const key = `${method} ${path}`;
    const call = { method, path, body, files, at: Date.now() };
    if (this.keepCalls) this.calls.push(call);
    this.onCall?.(call);
    for (const [re, list] of this.failures) {
      if (list.length && new RegExp(re).test(key)) {
        const retryAfter = list.shift()!;
        res.writeHead(429, {
          'content-type': 'application/json',
          'retry-after': String(Math.ceil(retryAfter)),
          'x-ratelimit-scope': 'user',
        });
        res.end(
          JSON.stringify({ message: 'You are being rate limited.', retry_after: retryAfter, global: false }),
        );
        return;
      }
    }
    const reply = (status: number, data?: unknown) => {
      if (data === undefined) return void res.writeHead(status).end();
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(data));
    };
    const message = (channelId: string) => ({
      id: nextId(),
      channel_id: channelId,
      content: contentOf(body) ?? '',
      author: this.botUser(),
      attachments: files.map((f) => ({
        id: nextId(),
        filename: f.name,
        size: f.size,
        url: 'x',
        proxy_url: 'x',
      })),
      embeds: [],
      components: [],
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      type: 0,
      flags: 0,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      pinned: false,
    });
    if (key === 'GET /gateway/bot') {
      return reply(200, {
        url: this.url.replace('http', 'ws'),
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 },
      });
    }
    if (/^PUT \/applications\/\d+(?:\/guilds\/\d+)?\/commands$/.test(key)) {
      return reply(
        200,
        (body as unknown[]).map((c) => ({
          ...(c as object),
          id: nextId(),
          application_id: this.appId,
          version: '1',
        })),
      );
    }
    const cb = /^POST \/interactions\/(\d+)\/[^/]+\/callback$/.exec(key);
    if (cb) {
      if (this.keepCalls && !this.ackedAt.has(cb[1])) this.ackedAt.set(cb[1], performance.now());
      return reply(204);
    }
    if (/^(POST|PATCH) \/webhooks\/\d+\/[^/]+(?:\/messages\/@original)?$/.test(key))
      return reply(200, message(CHANNEL_ID));
    const ch = /^POST \/channels\/(\d+)\/messages$/.exec(key);
    if (ch) return reply(200, message(ch[1]));
    if (key === 'POST /users/@me/channels') {
      const recipient = (body as { recipient_id: string }).recipient_id;
      return reply(200, {
        id: `7${recipient.slice(1)}`,
        type: 1,
        recipients: [{ id: recipient, username: 'u', discriminator: '0', avatar: null }],
      });
    }
    if (/^PATCH \/guilds\/(\d+)$/.test(key)) {
      if (this.refuseGuildEdit) return reply(403, { message: 'Missing Permissions', code: 50013 });
      return reply(200, { ...this.guild(), icon: 'a'.repeat(32) });
    }
    reply(404, { message: `Unknown route ${key} in the fake`, code: 0 });
  }
}

export function contentOf(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as { content?: string; data?: { content?: string } };
  return b.content ?? b.data?.content;
}

function parseBody(raw: Buffer, type: string): { body: unknown; files: RestCall['files'] } {
  if (!raw.length) return { body: undefined, files: [] };
  if (type.includes('application/json')) return { body: JSON.parse(raw.toString()), files: [] };
  if (!type.includes('multipart/form-data')) return { body: raw.toString(), files: [] };
  const boundary = /boundary=("?)([^";]+)\1/.exec(type)?.[2] ?? '';
  const sep = Buffer.from(`--${boundary}`);
  const files: RestCall['files'] = [];
  let body: unknown;
  let pos = raw.indexOf(sep);
  while (pos >= 0) {
    const start = pos + sep.length;
    if (raw.subarray(start, start + 2).toString() === '--') break;
    const next = raw.indexOf(sep, start);
    if (next < 0) break;
    const part = raw.subarray(start + 2, next - 2);
    const split = part.indexOf('\r\n\r\n');
    const head = part.subarray(0, split).toString();
    const content = part.subarray(split + 4);
    const filename = /filename="?([^";\r\n]*)"?/i.exec(head)?.[1];
    if (filename !== undefined)
      files.push({ name: filename, size: content.length, bytes: new Uint8Array(content) });
    else if (/name="payload_json"/.test(head)) body = JSON.parse(content.toString());
    pos = next;
  }
  return { body, files };
}
