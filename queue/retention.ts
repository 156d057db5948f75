/**
 * Retention: stored files nobody needs any more are deleted once older than
 * FACECHAIN_KEEP_FILES_HOURS (docs/jobs.md "Retention"). A file is kept however old while
 * something can still use it:
 * - an identity record names it (prepared crops, embedding, report, LoRA);
 * - a group record names it (the group-photo template an admin set);
 * - an unfinished job names it (waiting, prioritized, delayed, active, waiting for its flow's
 *   earlier steps), in its data or, for a flow step, in the results of its finished earlier steps;
 * - a reply still waiting on the delivery stream names it.
 * Everything else (uploads of finished requests, results, analysis reports) goes. Age is the
 * file's modification time: a re-upload of the same bytes (put) or a reuse (touch) renews it.
 * Lives in the job layer because that is where records and job payloads are read.
 */
import type { JobType } from 'bullmq';
import type { Redis } from 'ioredis';
import { log } from '../base/log.ts';
import { ARTIFACT_REF_RE, type ArtifactInfo, parseRef } from '../core/storage/artifacts.ts';
import { deliveryStreams } from './delivery/entry.ts';
import { QUEUES } from './jobs/index.ts';
import { runScript, SCRIPTS } from './lua/scripts.ts';
import type { Producer } from './producer.ts';
import { groupTemplates, identityRefs, userKey } from './records.ts';

const logger = log('retention');

/** An error for the log without its message: file-system messages carry paths (user ids). */
const failure = (e: unknown) => ({
  error: e instanceof Error ? e.name : typeof e,
  code: (e as { code?: unknown } | null)?.code,
});

/**
 * Every state of a job that has not finished. BullMQ's getRanges reads them in one script per
 * queue, an atomic snapshot: a job moving between states while the sweep reads is not missed.
 * ("paused" is the wait list of a paused queue in older BullMQ versions.)
 */
const UNFINISHED = ['active', 'wait', 'paused', 'prioritized', 'delayed', 'waiting-children'] as JobType[];

/** Leftovers of interrupted uploads are removed once at least this old, whatever the setting. */
const INCOMPLETE_MIN_AGE_MS = 3_600_000;

export interface SweepOptions {
  /** Files older than this many hours and not referenced are deleted; 0 = retention off. */
  keepFilesHours: number;
  /** Count what would be deleted, delete nothing. */
  dryRun?: boolean;
  /** Epoch ms the age is measured from (tests). */
  now?: number;
  /** Stops the sweep between files (the process is shutting down); the report says so. */
  signal?: AbortSignal;
}

/** Counts only: no file names, no bytes (these go to logs and the operator's terminal). */
export interface SweepReport {
  dryRun: boolean;
  /** False when FACECHAIN_KEEP_FILES_HOURS is 0: nothing was looked at. */
  enabled: boolean;
  keepFilesHours: number;
  users: number;
  files: number;
  /** Deleted (or, in a dry run, would be). */
  deleted: number;
  bytesFreed: number;
  /** Older than the limit but named by a record, an unfinished job or a pending reply. */
  keptReferenced: number;
  keptYoung: number;
  /** Users whose records could not be read: none of their files were deleted this time. */
  skippedUsers: number;
  /** Leftovers of interrupted uploads removed. */
  incomplete: number;
  /** Stopped early (shutdown): the counts cover what was done. */
  aborted: boolean;
  ms: number;
}

/** Every artifact ref anywhere in a JSON value (job data, results, replies). */
export function collectRefs(value: unknown, into: Set<string>, depth = 0): void {
  if (depth > 16 || value === null || value === undefined) return;
  if (typeof value === 'string') {
    if (ARTIFACT_REF_RE.test(value)) into.add(value);
  } else if (Array.isArray(value)) {
    for (const v of value) collectRefs(v, into, depth + 1);
  } else if (typeof value === 'object') {
    for (const v of Object.values(value)) collectRefs(v, into, depth + 1);
  }
}

/**
 * Refs named by unfinished jobs of every user: their data and, for steps of a flow, what their
 * finished earlier steps returned (a later step reads those). Returns how many jobs were read.
 */
export async function unfinishedJobRefs(producer: Producer, into: Set<string>): Promise<number> {
  let jobs = 0;
  for (const name of QUEUES) {
    const queue = producer.queue(name);
    const ids = await queue.getRanges(UNFINISHED, 0, -1);
    for (let i = 0; i < ids.length; i += 100) {
      const batch = await Promise.all(ids.slice(i, i + 100).map((id) => queue.getJob(id)));
      for (const job of batch) {
        if (!job) continue; // finished and removed since the snapshot: nothing to keep for it
        jobs++;
        collectRefs(job.data, into);
        if ((job.data as { flow?: boolean } | undefined)?.flow)
          collectRefs(await job.getChildrenValues(), into);
      }
    }
  }
  return jobs;
}

/** Refs named by replies still waiting on the delivery stream (results not yet sent). */
export async function pendingDeliveryRefs(redis: Redis, prefix: string, into: Set<string>): Promise<void> {
  for (const stream of await deliveryStreams(redis, prefix)) {
    let start = '-';
    for (;;) {
      const page = (await redis.xrange(stream, start, '+', 'COUNT', 500)) as [string, string[]][];
      for (const [, fields] of page)
        for (let i = 0; i + 1 < fields.length; i += 2) {
          if (fields[i] !== 'data') continue;
          try {
            collectRefs(JSON.parse(fields[i + 1]), into);
          } catch {
            // An unreadable entry is dropped by the consumer without being sent.
          }
        }
      if (page.length < 500) break;
      start = `(${page[page.length - 1][0]}`;
    }
  }
}

const sweptKey = (prefix: string, user: string) => userKey(prefix, user, 'swept');

/**
 * Remember which of a user's files the sweep deleted (hashes only, under the user's keys, so
 * /forget removes them), so a feature pointing at an old result can say why it is gone. Only
 * for users the job layer still knows (profile or job index): a sweep racing /forget must not
 * leave a key of a forgotten user behind.
 */
async function markSwept(producer: Producer, user: string, hashes: string[], now: number): Promise<void> {
  // As long as a finished job (whose buttons could point at these files) is kept, at least a day.
  const ttl = Math.max(86_400, producer.opts.keepCompletedSeconds);
  const p = producer.opts.prefix;
  const keys = [sweptKey(p, user), userKey(p, user, 'profile'), userKey(p, user, 'jobs')];
  for (let i = 0; i < hashes.length; i += 1000)
    await runScript(
      producer.redis,
      SCRIPTS.markSwept,
      keys.length,
      ...keys,
      now,
      now - ttl * 1000,
      ttl,
      ...hashes.slice(i, i + 1000),
    );
}

/** Which of these refs of one user the retention sweep deleted (see markSwept). */
export async function sweptRefs(producer: Producer, user: string, refs: string[]): Promise<Set<string>> {
  if (refs.length === 0) return new Set();
  // ZSCORE each (a result has at most 8 pictures): ZMSCORE needs Redis 6.2, BullMQ only 5.
  const key = sweptKey(producer.opts.prefix, user);
  const scores = await Promise.all(refs.map((r) => producer.redis.zscore(key, parseRef(r).hash)));
  return new Set(refs.filter((_, i) => scores[i] !== null));
}

/**
 * One sweep over every user's files. Order matters for files reused while it runs: files are
 * listed first, references read second, and each file's age is read again right before it is
 * deleted, so a file re-uploaded or reused (touched) after the listing is kept. Several sweeps
 * at once (machines sharing the store) are harmless: deleting a deleted file is a no-op.
 */
export async function sweepFiles(producer: Producer, o: SweepOptions): Promise<SweepReport> {
  const started = Date.now();
  const now = o.now ?? started;
  const report: SweepReport = {
    dryRun: o.dryRun === true,
    enabled: o.keepFilesHours > 0,
    keepFilesHours: o.keepFilesHours,
    users: 0,
    files: 0,
    deleted: 0,
    bytesFreed: 0,
    keptReferenced: 0,
    keptYoung: 0,
    skippedUsers: 0,
    incomplete: 0,
    aborted: false,
    ms: 0,
  };
  const stop = () => {
    report.aborted = o.signal?.aborted === true;
    return report.aborted;
  };
  const done = () => {
    report.ms = Date.now() - started;
    return report;
  };
  if (!report.enabled) return report;
  const cutoff = now - o.keepFilesHours * 3_600_000;
  const store = producer.artifacts;

  // 1. Old files, per user.
  const users = await store.listUsers();
  report.users = users.length;
  const old = new Map<string, ArtifactInfo[]>();
  for (const user of users) {
    if (stop()) break;
    const files = await store.listUser(user);
    report.files += files.length;
    const candidates = files.filter((f) => (f.modifiedAt ?? now) < cutoff);
    report.keptYoung += files.length - candidates.length;
    if (candidates.length) old.set(user, candidates);
  }

  // 2. What is still referenced. A failure or an abort here ends the sweep before anything is
  // deleted: nothing is ever deleted without them.
  if (stop()) return done();
  const keep = new Set<string>();
  if (old.size > 0) {
    await unfinishedJobRefs(producer, keep);
    await pendingDeliveryRefs(producer.redis, producer.opts.prefix, keep);
    for (const ref of await groupTemplates(producer.redis, producer.opts.prefix)) keep.add(ref);
  }
  if (stop()) return done();

  // 3. Delete the old files nothing names, user by user.
  for (const [user, candidates] of old) {
    if (stop()) break;
    const own = new Set<string>();
    try {
      for (const identity of await producer.records.listIdentities(user))
        for (const ref of identityRefs(identity)) own.add(ref);
    } catch (e) {
      // An unreadable record could name any of these files: keep them all this time.
      report.skippedUsers++;
      report.keptReferenced += candidates.length;
      logger.warn(failure(e), 'retention: records of a user could not be read; their files are kept');
      continue;
    }
    const swept: string[] = [];
    for (const f of candidates) {
      if (stop()) break;
      if (keep.has(f.ref) || own.has(f.ref)) {
        report.keptReferenced++;
        continue;
      }
      const current = await store.stat(f.ref);
      if (!current) continue; // deleted meanwhile (another sweep, the delete button, forget)
      if ((current.modifiedAt ?? now) >= cutoff) {
        report.keptYoung++;
        continue;
      }
      if (!report.dryRun) {
        if (!(await store.delete(f.ref))) continue;
        swept.push(parseRef(f.ref).hash);
      }
      report.deleted++;
      report.bytesFreed += current.size;
    }
    if (swept.length) await markSwept(producer, user, swept, now);
  }
  if (!report.dryRun && !stop())
    for (const user of users)
      report.incomplete += await store.deleteIncomplete(user, Math.min(cutoff, now - INCOMPLETE_MIN_AGE_MS));
  return done();
}

export interface SweeperOptions {
  keepFilesHours: number;
  intervalMinutes: number;
  /** Delay of the first sweep after start (default 10 s, so start-up is not slowed). */
  firstDelayMs?: number;
}

/**
 * Runs sweepFiles every interval in a worker process. Across machines, a Redis key with the
 * interval as its lifetime lets one process sweep per interval; anything else that overlaps
 * (an operator's `facechain files sweep`, clock drift) is harmless, only repeated work.
 */
export class RetentionSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(
    readonly producer: Producer,
    readonly o: SweeperOptions,
  ) {}

  start(): this {
    if (this.o.keepFilesHours <= 0) {
      logger.info('retention off (FACECHAIN_KEEP_FILES_HOURS=0): files are kept until /forget');
      return this;
    }
    this.schedule(this.o.firstDelayMs ?? 10_000);
    return this;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        this.schedule(this.o.intervalMinutes * 60_000);
      });
    }, ms);
    this.timer.unref();
  }

  /** One periodic sweep, if no other process has run one this interval. */
  async tick(): Promise<SweepReport | undefined> {
    const intervalMs = this.o.intervalMinutes * 60_000;
    try {
      const lock = `${this.producer.opts.prefix}:retention:lock`;
      const won = await this.producer.redis.set(
        lock,
        String(process.pid),
        'PX',
        Math.max(1000, intervalMs - 5000),
        'NX',
      );
      if (won !== 'OK') return undefined;
      const report = await sweepFiles(this.producer, {
        keepFilesHours: this.o.keepFilesHours,
        signal: this.abort.signal,
      });
      logger.info(report, 'retention sweep');
      return report;
    } catch (e) {
      logger.warn(failure(e), 'retention sweep failed; trying again next interval');
      return undefined;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.running?.catch(() => {});
  }
}
