/**
 * The crowd's book-keeping: every update sent and every message the bots sent back, read from
 * the stand-ins' calls. A reply is tied to its update the way a user sees it: on Telegram the
 * message it answers (reply_parameters), on Discord the interaction (its token in the URL).
 *
 * Per update: the first message is the answer; on Discord the defer callback before it is the
 * acknowledgement. A request that queued a job (its answer says so) must get exactly one
 * delivery afterwards (a result or an error), or none when the user cancelled it; any other
 * update gets no further message. Anything more is a duplicate.
 */
import { translate } from '../../base/i18n/index.ts';
import type { RestCall } from '../../test/bot/fake-discord.ts';
import type { ApiCall } from '../../test/bot/fake-telegram.ts';
import type { Action } from './script.ts';

export interface Sent {
  key: string;
  action: Action;
  platform: 'telegram' | 'discord';
  bot: number;
  user: number;
  /** performance.now() when the update was handed to the platform stand-in. */
  at: number;
  /** Telegram update id or Discord interaction id. */
  updateId: string;
  /** The job a request gets: the job layer derives its id from the bot and the update. */
  jobId: string;
  /** The job layer's user id (tg-…, dc-…). */
  jobUser: string;
  ackAt?: number;
  answerAt?: number;
  answer?: string;
  /** Messages after the answer (deliveries), with their time. */
  later: Array<{ at: number; text: string }>;
  /** Discord: defer callbacks seen (must be exactly 1). */
  acks: number;
  /** Answers: further answer-like messages (a re-processed update). */
  answers: number;
}

const SEND_METHODS = new Set(['sendMessage', 'sendPhoto', 'sendDocument', 'sendVideo', 'sendMediaGroup']);

/** The answer texts (English) that mean "your request is queued": a delivery must follow. */
function queuedTexts(): string[] {
  return [
    translate('en', 'train.queued', { count: 1 }),
    translate('en', 'template.queued'),
    translate('en', 'train.duplicate'),
  ];
}

export class Ledger {
  readonly sent = new Map<string, Sent>();
  /** Telegram: "<bot>:<chat>:<message id>" → key. */
  private readonly byMessage = new Map<string, string>();
  /** Discord: "<bot>:<interaction id>" → key. */
  private readonly byInteraction = new Map<string, string>();
  private readonly queued = queuedTexts();
  /** Messages no update could be tied to (continuations of an album or a split text, or stray). */
  unattributed = 0;
  edits = 0;
  /** Bot messages in chats the crowd never wrote in or to garbage (the fuzzer's concern). */
  strays: string[] = [];

  addTelegram(
    bot: number,
    chatId: number,
    messageId: number,
    s: Omit<Sent, 'later' | 'acks' | 'answers'>,
  ): void {
    this.sent.set(s.key, { ...s, later: [], acks: 0, answers: 0 });
    this.byMessage.set(`${bot}:${chatId}:${messageId}`, s.key);
  }

  addDiscord(bot: number, s: Omit<Sent, 'later' | 'acks' | 'answers'>): void {
    this.sent.set(s.key, { ...s, later: [], acks: 0, answers: 0 });
    this.byInteraction.set(`${bot}:${s.updateId}`, s.key);
  }

  onTelegram(bot: number, call: ApiCall, now: number): void {
    if (call.method === 'editMessageText') {
      this.edits++;
      return;
    }
    if (!SEND_METHODS.has(call.method)) return;
    const rp = call.params.reply_parameters as { message_id?: number } | undefined;
    const text = String(call.params.text ?? call.params.caption ?? `(${call.method})`);
    const key = rp?.message_id
      ? this.byMessage.get(`${bot}:${call.params.chat_id}:${rp.message_id}`)
      : undefined;
    const s = key ? this.sent.get(key) : undefined;
    if (!s) {
      if (rp?.message_id) this.strays.push(text.slice(0, 80));
      else this.unattributed++;
      return;
    }
    this.reply(s, text, now);
  }

  onDiscord(bot: number, call: RestCall, now: number): void {
    const m =
      /\/(?:interactions\/(\d+)\/[^/]+\/callback|webhooks\/\d+\/itok-(\d+)(\/messages\/@original)?)$/.exec(
        call.path,
      );
    if (!m) {
      if (call.method === 'POST' && /\/channels\/\d+\/messages$/.test(call.path)) this.unattributed++;
      return;
    }
    const id = m[1] ?? m[2];
    const key = this.byInteraction.get(`${bot}:${id}`);
    const s = key ? this.sent.get(key) : undefined;
    if (!s) {
      this.strays.push(call.path.slice(0, 80));
      return;
    }
    const body = call.body as { content?: string; data?: { content?: string } } | undefined;
    if (m[1]) {
      s.acks++;
      s.ackAt ??= now;
      return;
    }
    const text = String(body?.content ?? body?.data?.content ?? '');
    if (m[3] && call.method === 'PATCH') {
      // The first edit of the deferred reply is the answer; later ones are progress edits.
      if (s.answer === undefined) this.reply(s, text, now);
      else this.edits++;
      return;
    }
    if (call.method === 'POST') this.reply(s, text, now);
  }

  private reply(s: Sent, text: string, now: number): void {
    if (s.answer === undefined) {
      s.answer = text;
      s.answerAt = now;
      s.ackAt ??= now;
      s.answers = 1;
      return;
    }
    s.later.push({ at: now, text });
  }

  /** Whether the answer said a job was queued (so a delivery must follow). */
  queuedJob(s: Sent): boolean {
    return s.answer !== undefined && this.queued.some((q) => s.answer?.startsWith(q.slice(0, 30)));
  }
}

export interface Verdict {
  updates: number;
  answered: number;
  /** Updates without any answer. */
  unanswered: Sent[];
  /** Job requests: queued, delivered once, cancelled (no delivery), missing, duplicated. */
  queued: number;
  delivered: number;
  /**
   * Of those, delivered as a channel message: the bot process that held the interaction's token
   * was killed, so its successor posted the result in the channel (Discord), which this ledger
   * cannot tie to the interaction; the job layer's delivered marker says it was sent.
   */
  deliveredToChannel: number;
  cancelled: number;
  missing: Sent[];
  duplicates: Sent[];
  /** Discord interactions acknowledged more or less than once. */
  badAcks: Sent[];
  /** Answers by kind (first 40 chars of the text → count), for the report. */
  answerKinds: Map<string, number>;
}

/**
 * Check every update: answered once; a queued request delivered once unless cancelled
 * (`cancelled(key)` says whether the user's cancel reached the job); nothing twice.
 */
export function verdict(
  ledger: Ledger,
  cancelled: (s: Sent) => boolean,
  toChannel: (s: Sent) => boolean = () => false,
): Verdict {
  const v: Verdict = {
    updates: ledger.sent.size,
    answered: 0,
    unanswered: [],
    queued: 0,
    delivered: 0,
    deliveredToChannel: 0,
    cancelled: 0,
    missing: [],
    duplicates: [],
    badAcks: [],
    answerKinds: new Map(),
  };
  for (const s of ledger.sent.values()) {
    if (s.platform === 'discord' && s.acks !== 1) v.badAcks.push(s);
    if (s.answer === undefined) {
      v.unanswered.push(s);
      continue;
    }
    v.answered++;
    const kind = s.answer.split('\n')[0].slice(0, 40);
    v.answerKinds.set(kind, (v.answerKinds.get(kind) ?? 0) + 1);
    if (!ledger.queuedJob(s)) {
      if (s.later.length) v.duplicates.push(s);
      continue;
    }
    v.queued++;
    // One delivery (its first message answers the request; albums and split texts add messages
    // that do not reply to it). Two first messages with the same text are a second delivery.
    const firsts = s.later.length;
    if (firsts === 1) v.delivered++;
    else if (firsts > 1) v.duplicates.push(s);
    else if (cancelled(s)) v.cancelled++;
    else if (toChannel(s)) {
      v.delivered++;
      v.deliveredToChannel++;
    } else v.missing.push(s);
  }
  return v;
}
