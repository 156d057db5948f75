/**
 * The one choreography every front-end shares: dispatch an invocation, render its reply, follow
 * the job it started with progress edits, and render delivered results in the user's language
 * with the buttons their job declares. A platform supplies only how to send a message, how to
 * edit one (the `ReplyChannel` it makes per invocation) and how to send a delivery.
 */
import { FacechainError } from '../base/errors.ts';
import { log } from '../base/log.ts';
import { crashReply, type DispatchOptions, dispatch, localeFor } from '../commands/kit/dispatch.ts';
import type { JobView, Services } from '../commands/kit/services.ts';
import type { CommandReply, Invocation } from '../commands/kit/types.ts';
import type { DeliveryContext, Reply, ReplyTarget } from '../queue/reply.ts';
import { fromCommandReply, type Outgoing } from './adapter.ts';
import { deliveryOutgoing, noteLikenessShown } from './delivery.ts';
import { trackJob } from './progress.ts';
import { EditThrottle } from './throttle.ts';
import { UpdateLimit } from './update-limit.ts';

const logger = log('frontends');

/** A picture shown with the progress: a generation preview. */
export interface PreviewImage {
  bytes: Uint8Array;
  name: string;
}

/** A sent message that progress lines can edit. */
export interface Editable {
  /** Throttling key: edits of one chat (or interaction) share the platform's edit budget. */
  key: string;
  /**
   * `text` is the reply with the progress line under it; `line` and `view` alone for richer pages.
   * On a terminal state a platform that showed a preview removes it.
   */
  edit(text: string, progress: { line: string; view: JobView }): Promise<void>;
  /**
   * Show `image` with the progress (Telegram editMessageMedia, Discord attachment edit, the web
   * page). Platforms without it get text edits only. Shares the chat's edit budget with `edit`.
   */
  editMedia?(image: PreviewImage, text: string, progress: { line: string; view: JobView }): Promise<void>;
  /** The message can no longer be edited after this (epoch ms; Discord's interaction token). */
  expires?: number;
}

/** How one invocation is answered on its platform. */
export interface ReplyChannel {
  /** Render the command's reply; returns what progress edits go to, if anything. */
  send(out: Outgoing, reply: CommandReply): Promise<Editable | undefined>;
  /** A re-sent update (already handled): nothing to say; e.g. remove a deferred "thinking". */
  duplicate?(): Promise<void>;
  /** Carry out a request that needs platform rights (set the chat picture); may change the reply. */
  action?(reply: CommandReply): Promise<CommandReply>;
  /** A platform error while answering (e.g. no rights): tell the user in plain words. */
  failed?(message: string): Promise<void>;
}

export interface ConversationOptions {
  services: Services;
  /** Minimum time between progress edits of one chat (the platform's edit limits). */
  editIntervalMs: number;
  /** How often a followed job's state is read (its position and ETA while it waits). */
  progressPollMs?: number;
  /** Stop following after this long (the result still arrives by delivery). */
  followMaxMs?: number;
  /** What the dispatcher enforces (the operator's policy, extra middleware). */
  dispatch?: DispatchOptions;
  /**
   * Bound on invocations handled at once, shared by every front-end of the process
   * (FACECHAIN_MAX_CONCURRENT_UPDATES); default: a bound of this conversation's own.
   */
  updates?: UpdateLimit;
}

export class Conversation {
  private readonly throttle: EditThrottle;
  private readonly aborter = new AbortController();
  private readonly tasks = new Set<Promise<unknown>>();
  private readonly updates: UpdateLimit;

  constructor(readonly o: ConversationOptions) {
    this.throttle = new EditThrottle(o.editIntervalMs);
    this.updates = o.updates ?? new UpdateLimit();
  }

  get services(): Services {
    return this.o.services;
  }

  /**
   * Dispatch one invocation and answer it; a job it started is followed in the background.
   * Waits for a slot of the update limit first: the slot covers the download of attachments,
   * the command and the answer, not the following of the job.
   */
  handle(inv: Invocation, channel: ReplyChannel): Promise<void> {
    return this.updates.run(() => this.answer(inv, channel));
  }

  private async answer(inv: Invocation, channel: ReplyChannel): Promise<void> {
    let reply: CommandReply | undefined;
    try {
      reply = await dispatch(inv, this.o.services, this.o.dispatch);
    } catch (e) {
      reply = await crashReply(this.o.services, inv, e);
    }
    if (!reply) {
      await channel.duplicate?.().catch(() => {});
      return;
    }
    try {
      if (reply.action && channel.action) reply = await channel.action(reply);
      const target = await channel.send(fromCommandReply(reply), reply);
      if (reply.track && target) this.follow(inv, reply.track, target, reply.text);
    } catch (e) {
      // Our own errors (e.g. the bot lacks a right) are written for users: say them.
      if (e instanceof FacechainError && channel.failed) {
        await channel.failed(e.message).catch(() => {});
        return;
      }
      logger.warn({ err: e, command: inv.command }, 'reply failed');
    } finally {
      // Answered (or tried): a copy re-sent after this is a duplicate, not a lost answer.
      await this.o.services.updateAnswered(inv.platform, inv.id).catch(() => {});
    }
  }

  /**
   * Edit `target` with the job's progress (stage, percent, position) until it ends, and with the
   * job's preview picture where the platform can edit media. Text and pictures share the chat's
   * edit budget (the throttle keeps the newest pending edit); a preview that can no longer be
   * read (the job moved on and removed it) is skipped.
   */
  private follow(
    inv: Invocation,
    track: { jobId: string; label: string },
    target: Editable,
    head: string,
  ): void {
    this.background(async () => {
      const locale = await localeFor(this.o.services, inv);
      let shown: string | undefined;
      await trackJob(
        this.o.services,
        track.jobId,
        track.label,
        locale,
        (line, view) =>
          this.throttle.run(target.key, async () => {
            // Past its lifetime the message cannot be edited; the result still arrives by delivery.
            if (target.expires !== undefined && Date.now() > target.expires) return;
            const text = `${head}\n${line}`;
            const preview = view.state === 'active' ? view.preview : undefined;
            if (preview && preview !== shown && target.editMedia) {
              const bytes = await this.o.services.uploads.get(preview).catch(() => undefined);
              if (bytes) {
                shown = preview;
                await target.editMedia({ bytes, name: 'preview.jpg' }, text, { line, view });
                return;
              }
            }
            await target.edit(text, { line, view });
          }),
        {
          intervalMs: this.o.progressPollMs ?? 5000,
          signal: this.aborter.signal,
          ...(this.o.followMaxMs ? { maxMs: this.o.followMaxMs } : {}),
        },
      );
    });
  }

  /** Run a platform task the front-end does not wait for (joins, interactions); stop() waits for it. */
  background(task: () => Promise<unknown>): void {
    const p = task().catch((err) => logger.warn({ err }, 'front-end task failed'));
    this.tasks.add(p);
    void p.finally(() => this.tasks.delete(p));
  }

  /** A delivered result in the user's language, with the buttons its job declares, sent by `send`. */
  async deliver(
    target: ReplyTarget,
    reply: Reply,
    ctx: DeliveryContext,
    send: (out: Outgoing) => Promise<void>,
  ): Promise<void> {
    await send(await deliveryOutgoing(this.o.services, target, reply, ctx));
    // Said once per user: later results carry the percentage without the explanation.
    await noteLikenessShown(this.o.services, target, reply).catch(() => {});
  }

  async stop(): Promise<void> {
    this.aborter.abort();
    await Promise.allSettled([...this.tasks]);
    await this.throttle.drain();
    this.throttle.stop();
  }
}
