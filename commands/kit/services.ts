/**
 * What commands need from the rest of the system. Commands never run pipelines: they read and
 * write small records, store uploads and enqueue jobs. `bot/services.ts` binds this to the job
 * layer (queue/, core/storage/); nothing in commands/ imports Redis or BullMQ.
 */
import type { ForgetReceipt as QueueForgetReceipt } from '../../queue/erasure.ts';
import type { JobView as QueueJobView } from '../../queue/status.ts';
import type { ChatRef, ReplyTarget, UserRef } from './types.ts';

export interface ConsentRecord {
  version: string;
  at: number;
}

export interface UserProfile {
  locale?: string;
  consent?: ConsentRecord;
  defaultStyle?: string;
  privateDelivery?: boolean;
  /** The user was told once what the likeness percentage on results means. */
  likenessExplained?: boolean;
}

export type { JobState } from '../../queue/status.ts';

/** What commands see of a job: the job layer's view without its internals. */
export type JobView = Pick<
  QueueJobView,
  'id' | 'name' | 'state' | 'stage' | 'percent' | 'position' | 'etaSeconds' | 'error' | 'preview'
>;

export interface IdentityView {
  id: string;
  /** preparing, prepared, training, trained, failed (the job layer's identity states). */
  status: string;
  /** Artifact refs of the accepted face crops. */
  crops: string[];
}

export interface StyleView {
  id: string;
  /** The English name. */
  name: string;
  /** Name and one-line description by language (en, zh-CN), where the pack has them. */
  names?: Partial<Record<string, string>>;
  descriptions?: Partial<Record<string, string>>;
  /** Artifact ref or bytes of a preview image, when the pack ships one. */
  preview?: { bytes?: Uint8Array; ref?: string };
}

/** A style's name and description in `locale`, English where the pack has no translation. */
export function styleText(s: StyleView, locale: string): { name: string; description?: string } {
  const description = s.descriptions?.[locale] ?? s.descriptions?.en;
  return { name: s.names?.[locale] ?? s.name, ...(description ? { description } : {}) };
}

/** A style LoRA the user uploaded (visible and usable only by that user). */
export interface UserStyleView {
  id: string;
  name: string;
  multiplier: number;
  rank: number;
  layers: { unet: number; textEncoder: number };
  bytes: number;
}

export interface GroupMember {
  name?: string;
  face?: { crops: string[]; report?: string; embedding?: string };
}

/** What was removed, counted (the job layer's receipt, as users see it). */
export type ForgetReceipt = Pick<QueueForgetReceipt, 'removed'>;

export interface EnqueueRequest {
  name: string;
  data: Record<string, unknown>;
  user: UserRef;
  idempotencyKey: string;
  replyTarget: ReplyTarget;
}

export interface Services {
  profiles: {
    get(user: UserRef): Promise<UserProfile>;
    update(user: UserRef, patch: Partial<UserProfile>): Promise<void>;
    setConsent(user: UserRef, consent: ConsentRecord | undefined): Promise<void>;
  };
  groups: {
    /** `template`: artifact ref of the group-photo template an admin set last. */
    /** `enabled`: an administrator turned group features on (`/group on`). */
    get(chat: ChatRef): Promise<{ theme?: string; members: string[]; template?: string; enabled?: boolean }>;
    setTheme(chat: ChatRef, theme: string | undefined): Promise<void>;
    setEnabled(chat: ChatRef, on: boolean): Promise<void>;
    setTemplate(chat: ChatRef, ref: string): Promise<void>;
    /** Opting in remembers the display name (to say who was skipped), never more. */
    optIn(chat: ChatRef, user: UserRef & { name?: string }, yes: boolean): Promise<void>;
    /** Opted-in members with their newest prepared face (absent when they have none yet). */
    photoMembers(chat: ChatRef): Promise<GroupMember[]>;
  };
  uploads: {
    /** Store a user's file; returns an artifact reference (never a URL). */
    put(user: UserRef, name: string, bytes: Uint8Array): Promise<string>;
    get(ref: string): Promise<Uint8Array>;
  };
  jobs: {
    enqueue(req: EnqueueRequest): Promise<{ id: string; duplicate: boolean }>;
    status(id: string): Promise<JobView | undefined>;
    /**
     * Calls `onChange` when the job starts, moves on or ends ('done': its job ended, the state
     * read may lag a moment); resolves to the unsubscribe.
     */
    watch?(id: string, onChange: (kind: 'change' | 'done' | 'step') => void): Promise<() => void>;
    cancel(id: string, user: UserRef): Promise<boolean>;
    list(user: UserRef): Promise<JobView[]>;
    forget(user: UserRef): Promise<ForgetReceipt>;
    /** Whether some worker runs this job right now (e.g. a LoRA trainer is configured). */
    available(name: string): Promise<boolean>;
    /** A completed job of this user: its name and result. */
    completed(id: string, user: UserRef): Promise<{ name: string; result: unknown } | undefined>;
    /** Whether this deployment defines a job of that name (e.g. a group-photo pipeline). */
    has(name: string): boolean;
    /** The style and count an earlier request of this user asked for (for reroll / more like this). */
    requestOptions(
      id: string,
      user: UserRef,
    ): Promise<
      | {
          style?: string;
          userStyle?: string;
          count?: number;
          prompt?: string;
          template?: string;
          face?: number;
        }
      | undefined
    >;
    /** Delete the stored images of one of the user's results; returns how many were removed. */
    deleteResults(id: string, user: UserRef): Promise<number>;
    /** Artifact refs of a completed job's images, if the job is the user's. */
    resultImages(id: string, user: UserRef): Promise<string[]>;
    /**
     * A completed job of the user and its images for a feature that reuses them (the reuse
     * renews their age for the retention sweep): those still stored, and how many of the others
     * the retention sweep deleted (`expired`) or were deleted otherwise (`deleted`).
     * Undefined when there is no such completed job of this user.
     */
    resultFiles(
      id: string,
      user: UserRef,
    ): Promise<{ images: string[]; expired: number; deleted: number } | undefined>;
  };
  identities: {
    list(user: UserRef): Promise<IdentityView[]>;
  };
  styles: {
    list(): Promise<StyleView[]>;
  };
  /** Voices for talking portraits, for autocompletion (the online service's list, or the built-in one). */
  voices: {
    list(query: string, locale?: string): Promise<Array<{ id: string; name: string }>>;
  };
  /** The user's own uploaded style LoRAs: validated on add, scoped to the user on every call. */
  userStyles: {
    list(user: UserRef): Promise<UserStyleView[]>;
    /** Validates (InputError with the reason) and stores. */
    add(
      user: UserRef,
      bytes: Uint8Array,
      meta: { name: string; multiplier?: number },
    ): Promise<UserStyleView>;
    /** False when the user has no style of that id (another user's id included). */
    remove(user: UserRef, id: string): Promise<boolean>;
  };
  /** First sight of a platform update id → true; a re-sent update → false. */
  firstSeen(platform: string, updateId: string): Promise<boolean>;
  /**
   * Claim an update before answering it: true the first time, and again when the bot process
   * that claimed it died before answering (a restarted bot gets unconfirmed updates re-sent);
   * false when it was answered, or is being answered by this process.
   */
  claimUpdate(platform: string, updateId: string): Promise<boolean>;
  /** The update was answered: from now on a re-sent copy is a duplicate. */
  updateAnswered(platform: string, updateId: string): Promise<void>;
}
