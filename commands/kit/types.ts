/**
 * The contract between chat front-ends and commands. An adapter turns a platform event into an
 * `Invocation`, the dispatcher runs one command, and the adapter renders the `CommandReply`.
 * Nothing here knows a platform SDK.
 */
import type { z } from 'zod';
import type { Locale } from '../../base/i18n/index.ts';
import type { ReplyTarget } from '../../queue/reply.ts';
import type { AttachmentSpec } from './options.ts';
import type { Policy } from './policy.ts';
import type { Services } from './services.ts';

/**
 * A chat platform's name, as its front-end (bot/<platform>/) calls itself: lowercase letters. The
 * three built in are listed for autocompletion; a new front-end needs no change here.
 */
export type Platform = 'telegram' | 'discord' | 'web' | (string & {});

export interface UserRef {
  platform: Platform;
  /** The platform's user id (string: Discord snowflakes do not fit a double). */
  id: string;
}

export interface ChatRef {
  platform: Platform;
  id: string;
  kind: 'private' | 'group';
}

/**
 * A file the user sent. Bytes are fetched lazily so nothing is downloaded before consent and
 * before the command has validated sizes.
 */
export interface Attachment {
  name: string;
  /** The platform gave no file name (a Telegram photo): `name` is made up and not shown to the user. */
  generatedName?: boolean;
  mime?: string;
  /** Size as reported by the platform, when it reports one. */
  size?: number;
  fetch(): Promise<Uint8Array>;
}

/** Where replies for this invocation (and later job results) go (the job layer's type). */
export type { ReplyTarget } from '../../queue/reply.ts';

export interface Invocation {
  /** The platform's update / interaction id: the idempotency key for anything this causes. */
  id: string;
  platform: Platform;
  user: UserRef & { name?: string };
  chat: ChatRef;
  command: string;
  options: Record<string, unknown>;
  attachments: Attachment[];
  /** The platform's locale for this user (e.g. "zh-hans", "en-US"); the user's setting wins. */
  platformLocale?: string;
  replyTarget: ReplyTarget;
  /** Whether the user is an administrator of the chat, asked of the platform when needed. */
  isChatAdmin(): Promise<boolean>;
}

export interface Button {
  /** `command:action[:arg]`, at most 64 bytes (Telegram callback_data limit). */
  id: string;
  label: string;
  style?: 'primary' | 'secondary' | 'danger';
}

export interface ReplyImage {
  name: string;
  /** An artifact reference (job results) or the bytes themselves (small previews). */
  ref?: string;
  bytes?: Uint8Array;
  caption?: string;
  /** Flagged by the output safety check: sent blurred (Telegram spoiler, Discord SPOILER_, web blur). */
  spoiler?: boolean;
}

export interface CommandReply {
  text: string;
  images?: ReplyImage[];
  buttons?: Button[][];
  /** A choice among many: a select menu on Discord, one button per option elsewhere. */
  select?: { placeholder: string; options: Button[] };
  /** Only the invoking user should see this (Discord ephemeral; elsewhere ignored). */
  ephemeral?: boolean;
  /** A job the adapter should follow with progress edits until it ends. */
  track?: { jobId: string; label: string };
  /** The command failed (bad input, not available, internal): front-ends may style it as an error. */
  isError?: boolean;
  /** A request the adapter must perform with platform rights (e.g. set the chat picture). */
  action?: { kind: 'set-chat-photo'; image: ReplyImage };
  /** The user's language, set by the dispatcher, for what the adapter itself has to say. */
  locale?: Locale;
}

export interface CommandContext {
  inv: Invocation;
  services: Services;
  /** Translate a catalog key in the user's resolved locale. */
  t(key: string, params?: Record<string, string | number>): string;
  locale: Locale;
  /** What the operator allows (commands/kit/policy.ts). */
  policy: Policy;
}

export interface Command<S extends z.ZodType = z.ZodType> {
  name: string;
  aliases?: string[];
  /** Catalog key of the one-line description shown in menus. */
  description: string;
  options: S;
  /** Files it takes (menus offer them as attachment options; they arrive as the invocation's files). */
  attachments?: AttachmentSpec[];
  /** Whether the user must have accepted the current privacy text first. */
  needsConsent: boolean;
  /** Place in menus and /help (lower first). */
  order?: number;
  /** Shown in platform menus (slash commands, BotFather list). Button-only commands are hidden. */
  listed?: boolean;
  /**
   * A group feature (making pictures, group photos): in a group chat it waits for an
   * administrator's `/group on` when the deployment asks groups to opt in. A function decides by
   * the parsed options (e.g. only some actions of `group`).
   */
  groupFeature?: boolean | ((options: z.infer<S>) => boolean);
  run(ctx: CommandContext, options: z.infer<S>): Promise<CommandReply>;
}

/** Identity function that lets TypeScript infer a command's option type from its schema. */
export function defineCommand<S extends z.ZodType>(c: Command<S>): Command<S> {
  return c;
}
