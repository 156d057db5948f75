/**
 * Hostile updates, seeded: Telegram updates and Discord interactions built from well-formed ones
 * and then broken: fields dropped (no `from`, no chat), values of the wrong type, huge strings,
 * unknown fields and update kinds, commands from channels and from bots, callback data the bot
 * never issued, nonsense interaction types and options. Every string the fuzzer makes carries a
 * marker, so a log line holding any of it is caught (logs must not carry the payload's content).
 */
import { messageObject } from '../../test/bot/fake-discord.ts';
import { rng } from './script.ts';

/** In every generated string: a log line containing it leaked the payload. */
export const MARKER = 'qzfuzz';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export class Fuzzer {
  private readonly r: () => number;
  constructor(seed: number) {
    this.r = rng(seed * 104_729 + 1);
  }

  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  /** A string with the marker: short, command-like, unicode, control characters or huge. */
  str(): string {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a fuzz input, on purpose
    const junk = ['', ' ', '\u0000', '\u202e', '🙂', '𝕏', '\n', '"', "'", '\\', '%s', '${x}', '<b>', '../'];
    switch (this.int(7)) {
      case 0:
        return `${MARKER}${this.int(1e6)}`;
      case 1:
        return `/${this.pick(['start', 'status', 'train', 'portrait', 'cancel', 'forget', 'talk', 'group', 'template', 'consent', 'settings', 'mystyle', 'tryon', 'styles', 'help', 'x'])} ${MARKER}${this.pick(junk)}${this.int(1e4)}`;
      case 2:
        return `${MARKER}${this.pick(junk)}${this.pick(junk)}${this.pick(junk)}`;
      case 3:
        return `${MARKER}${'x'.repeat(this.pick([100, 4097, 70_000]))}`;
      case 4:
        return `/${MARKER}@facechain_test_bot ${this.pick(junk)}`;
      case 5:
        return `/cancel ${MARKER}-${this.int(100)}`;
      default:
        return `/settings language=${MARKER} style=${this.pick(junk)} private=${MARKER}`;
    }
  }

  /** Any JSON value, shallow. */
  value(depth = 0): Json {
    switch (this.int(depth > 2 ? 6 : 9)) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.pick([0, -1, 1.5, 2 ** 53, -(2 ** 63), Number.MAX_SAFE_INTEGER, 1e308]);
      case 3:
      case 4:
        return this.str();
      case 5:
        return this.int(1e9);
      case 6:
        return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
      default: {
        const o: { [k: string]: Json } = {};
        for (let i = this.int(4); i > 0; i--) o[`${MARKER}${this.int(100)}`] = this.value(depth + 1);
        return o;
      }
    }
  }

  /** Break a well-formed object: drop, retype, enlarge or add fields, recursively. */
  mutate(v: Json, depth = 0): Json {
    if (v === null || typeof v !== 'object' || depth > 4) return this.chance(0.15) ? this.value(depth) : v;
    if (Array.isArray(v)) {
      const out = v.map((x) => this.mutate(x, depth + 1));
      if (this.chance(0.1)) out.push(this.value(depth + 1));
      if (this.chance(0.1)) out.length = 0;
      return out;
    }
    const out: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) {
      const roll = this.r();
      if (roll < 0.08) continue; // dropped
      if (roll < 0.16)
        out[k] = this.value(depth + 1); // wrong type or value
      else out[k] = this.mutate(x, depth + 1);
    }
    if (this.chance(0.15)) out[`${MARKER}_${this.int(100)}`] = this.value(depth + 1);
    return out;
  }

  // ---- Telegram --------------------------------------------------------------------------

  private tgUser(): { [k: string]: Json } {
    return {
      id: 900_000 + this.int(50),
      is_bot: this.chance(0.1),
      first_name: this.str(),
      ...(this.chance(0.3) ? { language_code: this.pick(['en', 'zh-hans', 'xx', MARKER]) } : {}),
    };
  }

  private tgChat(userId: Json): { [k: string]: Json } {
    switch (this.int(5)) {
      case 0:
        return { id: -100_000 - this.int(10), type: 'supergroup', title: this.str() };
      case 1:
        return { id: -200_000 - this.int(10), type: 'channel', title: this.str() };
      case 2:
        return { id: -300_000 - this.int(10), type: 'group', title: this.str() };
      default:
        return { id: userId, type: 'private', first_name: this.str() };
    }
  }

  /** A Telegram update body (the stand-in adds update_id). */
  telegram(): { [k: string]: Json } {
    const from = this.tgUser();
    const chat = this.tgChat(from.id);
    const message: { [k: string]: Json } = {
      message_id: this.int(1e6),
      date: Math.floor(Date.now() / 1000) - this.int(1e5),
      from,
      chat,
    };
    switch (this.int(6)) {
      case 0:
        message.text = this.str();
        break;
      case 1:
        message.photo = [
          {
            file_id: this.str(),
            file_unique_id: this.str(),
            width: 1,
            height: 1,
            file_size: this.pick([1, -5, 2 ** 40, 30_000_000]),
          },
        ];
        if (this.chance(0.5)) message.caption = this.str();
        break;
      case 2:
        message.document = {
          file_id: this.str(),
          file_unique_id: 'u',
          file_name: this.str(),
          mime_type: this.pick(['image/png', 'application/x-msdownload', MARKER]),
          file_size: this.int(1e9),
        };
        break;
      case 3:
        message.media_group_id = this.str();
        message.photo = [{ file_id: this.str(), file_unique_id: 'u', width: 1, height: 1 }];
        break;
      case 4:
        message.voice = { file_id: this.str(), file_unique_id: 'u', duration: this.pick([1, -1, 1e9]) };
        break;
      default:
        message.new_chat_members = [this.tgUser(), this.tgUser()];
    }
    if (chat.type === 'channel' || this.chance(0.05)) {
      // A channel post, or an anonymous admin: no `from`, a sender_chat instead.
      delete message.from;
      message.sender_chat = chat;
    }
    const kinds: Array<() => { [k: string]: Json }> = [
      () => ({ message }),
      () => ({ message }),
      () => ({ message }),
      () => ({ edited_message: message }),
      () => ({ channel_post: message }),
      () => ({
        callback_query: {
          id: this.str(),
          from,
          chat_instance: 'ci',
          data: this.pick([
            `portrait:reroll:tg-${this.int(1e6)}`,
            `talk:animate:${MARKER}`,
            `consent:${MARKER}`,
            `styles:page:${this.pick(['-1', '1e9', 'NaN', MARKER])}`,
            `forget:confirm`,
            `group:picture:${MARKER}`,
            this.str().slice(0, 64),
          ]),
          ...(this.chance(0.8) ? { message: { message_id: this.int(1e6), date: 0, chat, text: 'x' } } : {}),
        },
      }),
      () => ({
        chat_member: {
          chat,
          from,
          date: 0,
          old_chat_member: { status: this.pick(['left', 'kicked', MARKER]), user: this.tgUser() },
          new_chat_member: { status: this.pick(['member', 'restricted', MARKER]), user: this.tgUser() },
        },
      }),
      () => ({ my_chat_member: { chat, from, date: 0 } }),
      () => ({ [`${MARKER}_kind`]: this.value() }),
      () => ({ message: this.value() }),
      () => ({ callback_query: this.value() }),
    ];
    const update = this.pick(kinds)();
    return this.chance(0.5) ? (this.mutate(update) as { [k: string]: Json }) : update;
  }

  // ---- Discord ---------------------------------------------------------------------------

  /** An INTERACTION_CREATE payload (id, token and application id set by the caller). */
  discord(): { [k: string]: Json } {
    const user: { [k: string]: Json } = {
      id: String(810_000_000_000_000_000n + BigInt(this.int(50))),
      username: this.str(),
      global_name: this.chance(0.5) ? this.str() : null,
      discriminator: '0',
      avatar: null,
      ...(this.chance(0.1) ? { bot: true } : {}),
    };
    const dm = this.chance(0.4);
    const where: { [k: string]: Json } = dm
      ? { user, channel_id: '900000000000000003', channel: { id: '900000000000000003', type: 1 }, context: 1 }
      : {
          guild_id: this.pick(['900000000000000002', '1', MARKER]),
          channel_id: '900000000000000003',
          channel: { id: '900000000000000003', type: 0, name: 'general', guild_id: '900000000000000002' },
          member: {
            user,
            roles: [],
            joined_at: new Date().toISOString(),
            deaf: false,
            mute: false,
            flags: 0,
            permissions: this.pick(['3072', '8', MARKER]),
          },
          guild_locale: 'en-US',
          context: 0,
        };
    const names = [
      'start',
      'status',
      'train',
      'portrait',
      'template',
      'cancel',
      'forget',
      'talk',
      'group',
      'consent',
      'settings',
      'styles',
      'mystyle',
      'tryon',
      MARKER,
    ];
    const type = this.pick([2, 2, 2, 3, 3, 4, 5, 1, 99]);
    let data: Json;
    if (type === 2 || type === 4) {
      data = {
        id: '1',
        name: this.pick(names),
        type: 1,
        options: Array.from({ length: this.int(3) }, () => ({
          name: this.pick([
            'style',
            'count',
            'seed',
            'id',
            'action',
            'text',
            'photo1',
            'photo',
            'language',
            MARKER,
          ]),
          type: this.pick([3, 4, 5, 11, 99]),
          value: this.value(),
          ...(type === 4 && this.chance(0.7) ? { focused: true } : {}),
        })),
        ...(this.chance(0.2)
          ? {
              resolved: {
                attachments: {
                  [String(this.int(1e6))]: {
                    id: '1',
                    filename: this.str(),
                    size: this.int(1e9),
                    url: `http://127.0.0.1:9/${MARKER}`,
                    proxy_url: '',
                  },
                },
              },
            }
          : {}),
      };
    } else if (type === 3) {
      data = {
        custom_id: this.pick([
          `portrait:reroll:dc-${this.int(1e6)}`,
          `talk:animate:${MARKER}`,
          `consent:accept`,
          `styles:pick`,
          this.str().slice(0, 100),
        ]),
        component_type: this.pick([2, 3, 99]),
        ...(this.chance(0.5) ? { values: [this.str().slice(0, 100)] } : {}),
      };
    } else if (type === 5) {
      data = {
        custom_id: this.pick([`talk:say:dc-${this.int(1e6)}`, this.str().slice(0, 100)]),
        components: this.chance(0.5)
          ? [{ type: 1, components: [{ type: 4, custom_id: 'text', value: this.str() }] }]
          : [],
      };
    } else data = this.value();
    const body: { [k: string]: Json } = {
      type,
      data,
      version: 1,
      locale: this.pick(['en-US', 'zh-CN', MARKER]),
      app_permissions: '0',
      entitlements: [],
      authorizing_integration_owners: {},
      ...where,
      ...(type === 3
        ? {
            message: messageObject('5', '900000000000000003', {
              id: '1',
              username: 'b',
              discriminator: '0',
              avatar: null,
            }),
          }
        : {}),
    };
    return this.chance(0.4) ? (this.mutate(body) as { [k: string]: Json }) : body;
  }
}

/** The user a hostile update names, if any: who may get a polite answer. */
export function telegramUserOf(update: unknown): number | undefined {
  const u = update as Record<string, Record<string, unknown> | undefined>;
  const carrier = u.message ?? u.callback_query ?? u.chat_member ?? u.my_chat_member ?? u.edited_message;
  const from = carrier?.from as { id?: unknown; is_bot?: unknown } | undefined;
  return typeof from?.id === 'number' ? from.id : undefined;
}
