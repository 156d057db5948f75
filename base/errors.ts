/**
 * The project's error classes. Every error a user can cause carries a stable `code` (for
 * translations, tests and job results) and a message that says what to do about it.
 */

export type ErrorContext = Record<string, unknown>;

export class FacechainError extends Error {
  readonly code: string;
  readonly context: ErrorContext;
  /** Whether retrying the same work could succeed (a transient service failure). */
  readonly retryable: boolean;

  constructor(
    code: string,
    message: string,
    opts: { cause?: unknown; context?: ErrorContext; retryable?: boolean } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.context = opts.context ?? {};
    this.retryable = opts.retryable ?? false;
  }

  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Bad input from a user (a photo, an option): never retried; the message is shown to the user. */
export class InputError extends FacechainError {}

/** A model file is missing, corrupt or does not match its manifest: the operator must act. */
export class ModelError extends FacechainError {}

/** Invalid configuration at start-up. */
export class ConfigError extends FacechainError {}

/** An outside service (Redis, a chat platform, a model hub) failed; usually worth retrying. */
export class ServiceError extends FacechainError {
  constructor(
    code: string,
    message: string,
    opts: { cause?: unknown; context?: ErrorContext; retryable?: boolean } = {},
  ) {
    super(code, message, { retryable: true, ...opts });
  }
}

/** A feature whose pipeline or models are not installed on this deployment. */
export class NotAvailableError extends FacechainError {
  constructor(feature: string, how: string, context: ErrorContext = {}) {
    super('not_available', `${feature} is not available on this deployment. ${how}`, {
      context: { feature, ...context },
    });
  }
}

/** Work stopped because the user cancelled it (or asked to be forgotten). */
export class CancelledError extends FacechainError {
  constructor(message = 'The job was cancelled.') {
    super('cancelled', message);
  }
}

export function isFacechainError(e: unknown): e is FacechainError {
  return e instanceof FacechainError;
}

/** Plain `{code, message}` for any thrown value, for JSON output and job results. */
export function errorInfo(e: unknown): { code: string; message: string } {
  if (e instanceof FacechainError) return e.toJSON();
  return { code: 'internal', message: e instanceof Error ? e.message : String(e) };
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}
