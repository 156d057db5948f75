/**
 * The one path every invocation takes: dedupe → locale → rate limit → consent → option parsing →
 * command → error boundary. Middleware order matters: consent is checked before a command can
 * touch attachments, so nothing is downloaded without it.
 */
import { FacechainError, InputError, NotAvailableError, ServiceError } from '../base/errors.ts';
import { type Locale, resolveLocale, translate } from '../base/i18n/index.ts';
import { userErrorText } from '../base/i18n/user-error.ts';
import { log } from '../base/log.ts';
import { consentPrompt } from './consent.ts';
import { findCommand } from './index.ts';
import { privacyVersion } from './privacy.ts';
import { RateLimiter } from './rate-limit.ts';
import type { Services } from './services.ts';
import type { CommandContext, CommandReply, Invocation } from './types.ts';

const logger = log('commands');

export interface DispatchOptions {
  limiter?: RateLimiter;
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

/** Run one invocation. Undefined means "already handled" (a re-sent update): reply nothing. */
export async function dispatch(
  inv: Invocation,
  services: Services,
  opts: DispatchOptions = {},
): Promise<CommandReply | undefined> {
  const started = performance.now();
  let profile: Awaited<ReturnType<Services['profiles']['get']>>;
  try {
    if (!(await services.firstSeen(inv.platform, inv.id))) {
      logger.info({ platform: inv.platform, command: inv.command }, 'duplicate update ignored');
      return undefined;
    }
    profile = await services.profiles.get(inv.user);
  } catch (e) {
    // Redis unreachable (or similar) before anything else: answer in the platform's language.
    const locale = resolveLocale(inv.platformLocale);
    return { ...errorReply({ t: translator(locale), locale }, e), locale };
  }
  const locale = resolveLocale(profile.locale, inv.platformLocale);
  const t = translator(locale);
  if (profile.privateDelivery) inv.replyTarget.privateDelivery = true;
  // Results arrive later, without the platform's locale: keep it with the reply target.
  if (inv.platformLocale)
    inv.replyTarget.extra = { ...inv.replyTarget.extra, lang: resolveLocale(inv.platformLocale) };
  const ctx: CommandContext = { inv, services, t, locale };
  let outcome = 'ok';
  try {
    const command = findCommand(inv.command);
    if (!command) {
      outcome = 'unknown';
      return { text: t('error.unknown_command', { command: inv.command }), ephemeral: true, locale };
    }
    const wait = (opts.limiter ?? defaultLimiter).take(`${inv.platform}:${inv.user.id}`);
    if (wait > 0) {
      outcome = 'rate_limited';
      return { text: t('error.rate_limited', { seconds: wait }), ephemeral: true, locale };
    }
    if (command.needsConsent && profile.consent?.version !== privacyVersion()) {
      outcome = 'needs_consent';
      return { ...consentPrompt(ctx, t('consent.required')), locale };
    }
    const parsed = command.options.safeParse(inv.options);
    if (!parsed.success) {
      outcome = 'bad_options';
      const problems = parsed.error.issues
        .map((i) => `${i.path.join('.') || 'options'}: ${i.message}`)
        .join('; ');
      return { text: t('error.bad_options', { problems }), ephemeral: true, locale };
    }
    const reply = await command.run(ctx, parsed.data);
    return reply && { ...reply, locale };
  } catch (e) {
    const reply = errorReply(ctx, e, (o) => {
      outcome = o;
    });
    return { ...reply, locale };
  } finally {
    logger.info(
      { platform: inv.platform, command: inv.command, outcome, ms: Math.round(performance.now() - started) },
      'command',
    );
  }
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
