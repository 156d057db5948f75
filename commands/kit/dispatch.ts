/**
 * The one path every invocation takes: a chain of middleware `(ctx, next)` in grammY's style,
 * ending at the command. The default chain: error boundary → log → ban list → dedupe → profile
 * and locale → find the command → rate limit → consent → option parsing (errors in the user's
 * language) → blocklist → group switch. Order matters: the ban list is checked before any work
 * (no Redis read), consent before a command can touch attachments, so nothing is downloaded
 * without it, and the blocklist and group switch before anything is stored or queued. An operator adds
 * their own (a ban list, an audit) with `DispatchOptions.middleware`; they run after the
 * defaults, just before the command. The daily quota and pending cap are enforced where jobs are
 * admitted (queue/limits.ts), atomically with the enqueue.
 */
import { z } from 'zod';
import { FacechainError, InputError, NotAvailableError, ServiceError } from '../../base/errors.ts';
import { isMessageKey, type Locale, resolveLocale, translate } from '../../base/i18n/index.ts';
import { userErrorText } from '../../base/i18n/user-error.ts';
import { log } from '../../base/log.ts';
import { consentPrompt } from '../consent.ts';
import { findCommand } from '../index.ts';
import { optionInfo } from './options.ts';
import { blockedWord, defaultPolicy, isBanned, type Policy, textsOf } from './policy.ts';
import { privacyVersion } from './privacy.ts';
import { RateLimiter } from './rate-limit.ts';
import type { Services, UserProfile } from './services.ts';
import type { Command, CommandContext, CommandReply, Invocation } from './types.ts';

const logger = log('commands');

/** What middleware sees and fills in as the invocation moves down the chain. */
export interface DispatchContext {
  inv: Invocation;
  services: Services;
  /** Until the profile is read: the platform's language. */
  locale: Locale;
  t: CommandContext['t'];
  profile?: UserProfile;
  command?: Command;
  /** The command's parsed options (set by the last default middleware). */
  options?: unknown;
  /** How it ended, for the log line: ok, unknown, rate_limited, needs_consent, an error code... */
  outcome: string;
  /** What the operator allows (ban list, blocklist, group switch, uploads). */
  policy: Policy;
}

/** Answer now (return a reply or undefined for "nothing to say"), or pass on with `next()`. */
export type Middleware = (
  ctx: DispatchContext,
  next: () => Promise<CommandReply | undefined>,
) => Promise<CommandReply | undefined>;

export interface DispatchOptions {
  limiter?: RateLimiter;
  /** Default: the deployment's settings (commands/kit/policy.ts). */
  policy?: Policy;
  /** Extra middleware, run after the defaults and before the command. */
  middleware?: Middleware[];
}

const defaultLimiter = new RateLimiter(20, 30);

export async function localeFor(
  services: Services,
  inv: Pick<Invocation, 'user' | 'platformLocale'>,
): Promise<Locale> {
  const profile = await services.profiles.get(inv.user);
  return resolveLocale(profile.locale, inv.platformLocale);
}

export function translator(locale: Locale): CommandContext['t'] {
  return (key, params) => translate(locale, key, params);
}

/** The error boundary: whatever a later step throws becomes a reply in the user's language. */
const errorBoundary: Middleware = async (ctx, next) => {
  try {
    return await next();
  } catch (e) {
    return errorReply(ctx, e, (o) => {
      ctx.outcome = o;
    });
  }
};

/** One line per invocation: platform, command, outcome and time (never options or files). */
const logged: Middleware = async (ctx, next) => {
  const started = performance.now();
  try {
    return await next();
  } finally {
    logger.info(
      {
        platform: ctx.inv.platform,
        // The command's own name; what a user typed for an unknown one is their text, not logged.
        command:
          (ctx.command ?? (typeof ctx.inv.command === 'string' ? findCommand(ctx.inv.command) : undefined))
            ?.name ?? 'unknown',
        outcome: ctx.outcome,
        ms: Math.round(performance.now() - started),
      },
      'command',
    );
  }
};

/**
 * Banned users and chats (FACECHAIN_BANNED_USERS / _CHATS) before any work: a banned user is told
 * so (once per update), a banned chat gets nothing, and nothing is read or stored for either.
 */
const banned: Middleware = async (ctx, next) => {
  const { inv, policy } = ctx;
  if (!isBanned(policy, { user: inv.user })) {
    if (!isBanned(policy, { user: inv.user, chat: inv.chat })) return next();
    ctx.outcome = 'banned_chat';
    return undefined;
  }
  ctx.outcome = 'banned';
  return { text: ctx.t('error.banned'), ephemeral: true, isError: true };
};

/**
 * A re-sent update (webhook retry, double click) is answered once. The front-end marks it
 * answered once its reply is out (Conversation.handle); an update whose bot process died before
 * that is answered by the next one (the job layer keeps its job from running twice).
 */
const dedupe: Middleware = async (ctx, next) => {
  if (!(await ctx.services.claimUpdate(ctx.inv.platform, ctx.inv.id))) {
    ctx.outcome = 'duplicate';
    return undefined;
  }
  return next();
};

/** The user's profile: their language (else the platform's), private delivery. */
const profile: Middleware = async (ctx, next) => {
  const p = await ctx.services.profiles.get(ctx.inv.user);
  ctx.profile = p;
  ctx.locale = resolveLocale(p.locale, ctx.inv.platformLocale);
  ctx.t = translator(ctx.locale);
  const target = ctx.inv.replyTarget;
  if (p.privateDelivery) target.privateDelivery = true;
  // Results arrive later, without the platform's locale: keep it with the reply target.
  if (ctx.inv.platformLocale) target.extra = { ...target.extra, lang: resolveLocale(ctx.inv.platformLocale) };
  return next();
};

const command: Middleware = async (ctx, next) => {
  ctx.command = findCommand(ctx.inv.command);
  if (!ctx.command) {
    ctx.outcome = 'unknown';
    return { text: ctx.t('error.unknown_command', { command: ctx.inv.command }), ephemeral: true };
  }
  return next();
};

function rateLimit(limiter: RateLimiter): Middleware {
  return async (ctx, next) => {
    const wait = limiter.take(`${ctx.inv.platform}:${ctx.inv.user.id}`);
    if (wait <= 0) return next();
    ctx.outcome = 'rate_limited';
    return { text: ctx.t('error.rate_limited', { seconds: wait }), ephemeral: true };
  };
}

const consent: Middleware = async (ctx, next) => {
  if (!ctx.command?.needsConsent || ctx.profile?.consent?.version === privacyVersion()) return next();
  ctx.outcome = 'needs_consent';
  return consentPrompt(commandContext(ctx), ctx.t('consent.required'));
};

/** zod's own messages in the user's language (zod 4 locales), for problems the schema did not name. */
const ZOD_LOCALES: Record<Locale, () => { localeError: z.core.$ZodErrorMap }> = {
  en: z.locales.en,
  'zh-CN': z.locales.zhCN,
};
/** zod's Chinese messages name JavaScript types in English ("期望 number"). */
const ZH_TYPES: Record<string, string> = { number: '数字', string: '文本', boolean: '是或否', int: '整数' };

function problemText(ctx: DispatchContext, issue: z.core.$ZodIssue): string {
  const name = issue.path.map(String).join('.') || 'options';
  const describe = ctx.command
    ? optionInfo(ctx.command).find((o) => o.name === name)?.meta.describe
    : undefined;
  const label = ctx.t('error.option_label', { name, describe: describe ? ctx.t(describe) : name });
  // A schema's own message is a catalog key ("hint.rate"); zod's are in the user's language already.
  let message = isMessageKey(issue.message) ? ctx.t(issue.message) : issue.message;
  if (ctx.locale === 'zh-CN')
    message = message.replace(/\b(number|string|boolean|int)\b/g, (w) => ZH_TYPES[w]);
  return `${label}${ctx.t('error.option_sep')}${message}`;
}

const parseOptions: Middleware = async (ctx, next) => {
  const parsed = ctx.command?.options.safeParse(ctx.inv.options, {
    error: ZOD_LOCALES[ctx.locale]().localeError,
  });
  if (parsed && !parsed.success) {
    ctx.outcome = 'bad_options';
    const problems = parsed.error.issues.map((i) => problemText(ctx, i)).join(ctx.t('error.option_join'));
    return { text: ctx.t('error.bad_options', { problems }), ephemeral: true };
  }
  ctx.options = parsed?.data;
  return next();
};

/** Words the operator refused (FACECHAIN_PROMPT_BLOCKLIST), in anything the user wrote, before any work. */
const blocklist: Middleware = async (ctx, next) => {
  if (!blockedWord(ctx.policy, textsOf(ctx.options))) return next();
  // The log line says that it happened, never the text.
  ctx.outcome = 'blocked_text';
  return { text: ctx.t('error.blocked_text'), ephemeral: true, isError: true };
};

/**
 * Group features (making pictures in a group, group photos, joining) in a group chat wait for an
 * administrator's `/group on` when the deployment says opt-in (FACECHAIN_GROUP_FEATURES).
 */
const groupSwitch: Middleware = async (ctx, next) => {
  const { inv, command: c } = ctx;
  if (inv.chat.kind !== 'group' || ctx.policy.groups === 'open' || !c?.groupFeature) return next();
  const gated = typeof c.groupFeature === 'function' ? c.groupFeature(ctx.options) : c.groupFeature;
  if (!gated || (await ctx.services.groups.get(inv.chat)).enabled) return next();
  ctx.outcome = 'group_off';
  return { text: ctx.t('group.features_off'), ephemeral: true };
};

function commandContext(ctx: DispatchContext): CommandContext {
  return { inv: ctx.inv, services: ctx.services, t: ctx.t, locale: ctx.locale, policy: ctx.policy };
}

/** Run one invocation. Undefined means "already handled" (a re-sent update): reply nothing. */
export async function dispatch(
  inv: Invocation,
  services: Services,
  opts: DispatchOptions = {},
): Promise<CommandReply | undefined> {
  const locale = resolveLocale(inv.platformLocale);
  const policy = opts.policy ?? defaultPolicy();
  const ctx: DispatchContext = { inv, services, locale, t: translator(locale), outcome: 'ok', policy };
  const chain: Middleware[] = [
    errorBoundary,
    logged,
    banned,
    dedupe,
    profile,
    command,
    rateLimit(opts.limiter ?? defaultLimiter),
    consent,
    parseOptions,
    blocklist,
    groupSwitch,
    ...(opts.middleware ?? []),
  ];
  const run = (i: number): Promise<CommandReply | undefined> => {
    if (i < chain.length) return chain[i](ctx, () => run(i + 1));
    const c = ctx.command as Command;
    return c.run(commandContext(ctx), ctx.options);
  };
  const reply = await run(0);
  // The language the user reads, for what the front-end itself has to say.
  return reply && { ...reply, locale: ctx.locale };
}

/** The answer when dispatch itself threw (a front-end's last resort), in the user's language if known. */
export async function crashReply(services: Services, inv: Invocation, e: unknown): Promise<CommandReply> {
  const locale = await localeFor(services, inv).catch(() => resolveLocale(inv.platformLocale));
  return { ...errorReply({ t: translator(locale), locale }, e), locale };
}

/** The error boundary: user errors say what to do; anything else is logged and apologised for. */
export function errorReply(
  ctx: Pick<CommandContext, 't' | 'locale'>,
  e: unknown,
  note: (o: string) => void = () => {},
): CommandReply {
  // Messages of these classes are written for users (what to do, try again later); no secrets.
  if (e instanceof InputError || e instanceof NotAvailableError || e instanceof ServiceError) {
    note(e.code);
    if (e instanceof ServiceError) logger.warn({ err: e, code: e.code }, 'service unavailable');
    return { text: userErrorText(e, ctx.locale), ephemeral: true, isError: true };
  }
  if (e instanceof FacechainError) {
    note(e.code);
    logger.warn({ err: e, code: e.code }, 'command failed');
    return { text: ctx.t('error.internal', { code: e.code }), ephemeral: true, isError: true };
  }
  note('internal');
  logger.error({ err: e }, 'command crashed');
  return { text: ctx.t('error.internal', { code: 'internal' }), ephemeral: true, isError: true };
}
