/**
 * A local fake of the Telegram Bot API (HTTP), enough for grammY to run against: getMe,
 * getUpdates long polling, send/edit methods (JSON and multipart uploads; editMessageMedia and
 * editMessageCaption for progress previews, deleteMessage), getFile + file
 * downloads, getChatMember, setChatPhoto, and injected 429 flood answers with retry_after.
 * Tests drive conversations by pushing updates and reading the calls the bot made.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ApiCall {
  method: string;
  params: Record<string, unknown>;
  /** Uploaded files of a multipart call, by field name (with their bytes, to decode them). */
  files: Record<string, UploadedFile>;
  at: number;
}

type Waiter = (updates: unknown[]) => void;

export const BOT_ID = 777000111;
export const TOKEN = `${BOT_ID}:AAFakeTokenForTestsOnly_abcdefghijklmn`;

export interface FakeTelegramOptions {
  /** The bot this fake answers for (a second bot on one Redis gets its own fake and id). */
  botId?: number;
  token?: string;
  /** Keep every call in `calls` (tests); a long load run turns it off and reads `onCall`. */
  keepCalls?: boolean;
}

export class FakeTelegram {
  readonly calls: ApiCall[] = [];
  readonly botId: number;
  readonly token: string;
  private readonly keepCalls: boolean;
  /** Sees every call as it arrives, with what the fake answered (load generators, tests). */
  onCall?: (call: ApiCall, result: unknown) => void;
  private server: http.Server;
  private updates: Array<Record<string, unknown>> = [];
  private nextUpdateId = 1000;
  private nextMessageId = 1;
  private waiters: Array<{ offset: number; resolve: Waiter; timer: NodeJS.Timeout }> = [];
  private files = new Map<string, { bytes: Uint8Array; path: string }>();
  private failures = new Map<string, Array<{ code: number; retryAfter?: number; description: string }>>();
  readonly admins = new Set<number>();
  /** Users who never started the bot: private messages to them fail with 403. */
  readonly unreachable = new Set<number>();
  /** Whether the bot has the "Change group info" right (setChatPhoto fails without it, as on Telegram). */
  botCanChangeInfo = true;
  private seenOffset = 0;
  url = '';

  constructor(opts: FakeTelegramOptions = {}) {
    this.botId = opts.botId ?? BOT_ID;
    this.token = opts.token ?? (opts.botId ? `${opts.botId}:AAFakeTokenForTestsOnly_abcdefghijklmn` : TOKEN);
    this.keepCalls = opts.keepCalls ?? true;
    this.server = http.createServer((req, res) => {
      this.route(req, res).catch((e) => {
        res.writeHead(500).end(String(e));
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.resolve([]);
    }
    this.waiters = [];
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** The next call(s) to `method` answer with this error (e.g. 429 + retry_after). */
  failNext(method: string, code: number, retryAfter?: number, times = 1): void {
    const list = this.failures.get(method) ?? [];
    for (let i = 0; i < times; i++)
      list.push({
        code,
        retryAfter,
        description: code === 429 ? `Too Many Requests: retry after ${retryAfter}` : 'Bad Request',
      });
    this.failures.set(method, list);
  }

  addFile(bytes: Uint8Array, ext = 'jpg'): { file_id: string; file_unique_id: string; file_size: number } {
    const id = `F${this.files.size + 1}x${Math.random().toString(36).slice(2, 8)}`;
    this.files.set(id, { bytes, path: `photos/${id}.${ext}` });
    return { file_id: id, file_unique_id: `u${id}`, file_size: bytes.byteLength };
  }

  /** Queue an update; returns its update_id. Pass `update_id` to re-send an earlier one. */
  push(update: Record<string, unknown>): number {
    const u = { update_id: this.nextUpdateId++, ...update };
    this.updates.push(u);
    this.flush();
    return u.update_id as number;
  }

  /** Re-send exactly the same update (Telegram does this when a webhook did not answer 2xx). */
  resend(updateId: number, update: Record<string, unknown>): void {
    this.updates.push({ ...update, update_id: updateId });
    this.flush();
  }

  message(from: TgUser, chat: TgChat, extra: Record<string, unknown>): Record<string, unknown> {
    return {
      message: {
        message_id: this.nextMessageId++,
        date: Math.floor(Date.now() / 1000),
        from,
        chat,
        ...extra,
      },
    };
  }

  callback(from: TgUser, chat: TgChat, data: string, messageId = 1): Record<string, unknown> {
    return {
      callback_query: {
        id: `cq${this.nextUpdateId}`,
        from,
        chat_instance: 'ci',
        data,
        message: {
          message_id: messageId,
          date: 0,
          chat,
          from: { id: this.botId, is_bot: true, first_name: 'Bot' },
          text: 'x',
        },
      },
    };
  }

  callsOf(method: string): ApiCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Wait until `pred` holds for the recorded calls. */
  async waitFor<T>(pred: (calls: ApiCall[]) => T | undefined | false, ms = 20_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = pred(this.calls);
      if (v) return v;
      if (Date.now() > end) {
        const summary = this.calls
          .filter((c) => c.method !== 'getUpdates')
          .map((c) => `${c.method} ${JSON.stringify(c.params).slice(0, 160)}`)
          .join('\n');
        throw new Error(`timed out waiting; calls so far:\n${summary}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Texts the bot sent or edited, in order. */
  texts(): string[] {
    return this.calls
      .filter((c) =>
        [
          'sendMessage',
          'editMessageText',
          'sendPhoto',
          'sendVideo',
          'sendVideoNote',
          'sendDocument',
        ].includes(c.method),
      )
      .map((c) => String(c.params.text ?? c.params.caption ?? ''));
  }

  private flush(): void {
    for (const w of [...this.waiters]) {
      const ready = this.updates.filter((u) => (u.update_id as number) >= w.offset);
      if (ready.length) {
        clearTimeout(w.timer);
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(ready);
      }
    }
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const file = /^\/file\/bot[^/]+\/(.+)$/.exec(url.pathname);
    if (file) {
      const f = [...this.files.values()].find((x) => x.path === file[1]);
      if (!f) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(f.bytes);
      return;
    }
    const m = /^\/bot([^/]+)\/(\w+)$/.exec(url.pathname);
    if (!m) return void res.writeHead(404).end();
    if (m[1] !== this.token)
      return this.json(res, { ok: false, error_code: 401, description: 'Unauthorized' });
    const method = m[2];
    const { params, files } = await readBody(req);
    const call = { method, params, files, at: Date.now() };
    if (this.keepCalls) this.calls.push(call);
    const fail = this.failures.get(method)?.shift();
    if (fail) {
      this.onCall?.(call, undefined);
      return this.json(res, {
        ok: false,
        error_code: fail.code,
        description: fail.description,
        ...(fail.retryAfter !== undefined ? { parameters: { retry_after: fail.retryAfter } } : {}),
      });
    }
    const result = await this.answer(method, params);
    this.onCall?.(call, result instanceof ApiFailure ? undefined : result);
    if (result instanceof ApiFailure)
      return this.json(res, { ok: false, error_code: result.code, description: result.message });
    this.json(res, { ok: true, result });
  }

  private json(res: http.ServerResponse, body: unknown): void {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private sent(
    params: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ): Record<string, unknown> {
    const chatId = Number(params.chat_id);
    return {
      message_id: this.nextMessageId++,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: chatId < 0 ? 'supergroup' : 'private' },
      from: { id: this.botId, is_bot: true, first_name: 'Bot' },
      ...extra,
    };
  }

  private async answer(method: string, p: Record<string, unknown>): Promise<unknown> {
    switch (method) {
      case 'getMe':
        return {
          id: this.botId,
          is_bot: true,
          first_name: 'FaceChain',
          username: 'facechain_test_bot',
          can_join_groups: true,
          can_read_all_group_messages: false,
          supports_inline_queries: false,
          can_connect_to_business: false,
          has_main_web_app: false,
        };
      case 'deleteWebhook':
      case 'setWebhook':
      case 'answerCallbackQuery':
      case 'setMyCommands':
        return true;
      case 'setChatPhoto':
        return this.botCanChangeInfo
          ? true
          : new ApiFailure(400, 'Bad Request: not enough rights to change chat photo');
      case 'getUpdates': {
        const offset = Number(p.offset ?? 0);
        if (offset > this.seenOffset) {
          this.seenOffset = offset;
          this.updates = this.updates.filter((u) => (u.update_id as number) >= offset);
        }
        const ready = this.updates.filter((u) => (u.update_id as number) >= offset);
        if (ready.length || !Number(p.timeout)) return ready;
        return new Promise<unknown[]>((resolve) => {
          const timer = setTimeout(
            () => {
              this.waiters = this.waiters.filter((w) => w.resolve !== resolve);
              resolve([]);
            },
            Math.min(Number(p.timeout), 2) * 1000,
          );
          this.waiters.push({ offset, resolve, timer });
        });
      }
      case 'getFile': {
        const f = this.files.get(String(p.file_id));
        if (!f) return new ApiFailure(400, 'Bad Request: invalid file_id');
        return {
          file_id: p.file_id,
          file_unique_id: `u${p.file_id}`,
          file_size: f.bytes.byteLength,
          file_path: f.path,
        };
      }
      case 'getChatMember': {
        const id = Number(p.user_id);
        const status = this.admins.has(id) ? 'administrator' : 'member';
        return {
          status,
          user: { id, is_bot: false, first_name: 'U' },
          ...(status === 'administrator' ? { can_change_info: true } : {}),
        };
      }
      case 'sendMessage':
        if (this.unreachable.has(Number(p.chat_id)))
          return new ApiFailure(403, "Forbidden: bot can't initiate conversation with a user");
        return this.sent(p, { text: p.text });
      case 'editMessageText':
        return this.sent(p, { message_id: Number(p.message_id), text: p.text });
      case 'editMessageCaption':
        return this.sent(p, { message_id: Number(p.message_id), caption: p.caption });
      case 'editMessageMedia':
        return this.sent(p, {
          message_id: Number(p.message_id),
          photo: [{ file_id: 'p', file_unique_id: 'p', width: 1, height: 1 }],
        });
      case 'deleteMessage':
        return true;
      case 'sendPhoto':
        return this.sent(p, {
          photo: [{ file_id: 'p', file_unique_id: 'p', width: 1, height: 1 }],
          caption: p.caption,
        });
      case 'sendDocument':
        return this.sent(p, { document: { file_id: 'd', file_unique_id: 'd' }, caption: p.caption });
      case 'sendVideoNote':
        return this.sent(p, { video_note: { file_id: 'n', file_unique_id: 'n', length: 512, duration: 1 } });
      case 'sendVideo':
        return this.sent(p, {
          video: { file_id: 'v', file_unique_id: 'v', width: 1, height: 1, duration: 1 },
          caption: p.caption,
        });
      case 'sendMediaGroup': {
        const media = (typeof p.media === 'string' ? JSON.parse(p.media) : p.media) as unknown[];
        return media.map(() =>
          this.sent(p, { photo: [{ file_id: 'p', file_unique_id: 'p', width: 1, height: 1 }] }),
        );
      }
      default:
        return new ApiFailure(404, `Not Found: method ${method} is not in the fake`);
    }
  }
}

class ApiFailure {
  constructor(
    readonly code: number,
    readonly message: string,
  ) {}
}

export interface UploadedFile {
  name: string;
  size: number;
  bytes: Buffer;
}

export interface TgUser {
  id: number;
  is_bot: false;
  first_name: string;
  language_code?: string;
}
export interface TgChat {
  id: number;
  type: 'private' | 'group' | 'supergroup';
  title?: string;
  first_name?: string;
}

async function readBody(
  req: http.IncomingMessage,
): Promise<{ params: Record<string, unknown>; files: Record<string, UploadedFile> }> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks);
  const type = req.headers['content-type'] ?? '';
  if (!body.length) return { params: {}, files: {} };
  if (type.includes('application/json')) return { params: JSON.parse(body.toString()), files: {} };
  if (type.includes('multipart/form-data')) return parseMultipart(body, type);
  return { params: Object.fromEntries(new URLSearchParams(body.toString())), files: {} };
}

/** A small multipart/form-data reader (string fields parsed as JSON when they are JSON). */
function parseMultipart(
  body: Buffer,
  type: string,
): { params: Record<string, unknown>; files: Record<string, UploadedFile> } {
  const boundary = /boundary=("?)([^";]+)\1/.exec(type)?.[2];
  if (!boundary) throw new Error('multipart without boundary');
  const params: Record<string, unknown> = {};
  const files: Record<string, UploadedFile> = {};
  const sep = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(sep);
  while (pos >= 0) {
    const start = pos + sep.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(sep, start);
    if (next < 0) break;
    const part = body.subarray(start + 2, next - 2); // skip CRLF after the boundary and before the next
    const split = part.indexOf('\r\n\r\n');
    const head = part.subarray(0, split).toString();
    const content = part.subarray(split + 4);
    const name = /[^e]name="([^"]*)"/.exec(head)?.[1] ?? '';
    const filename = /filename="?([^";\r\n]*)"?/.exec(head)?.[1];
    if (filename !== undefined)
      files[name] = { name: filename, size: content.length, bytes: Buffer.from(content) };
    else {
      const v = content.toString();
      try {
        params[name] = JSON.parse(v);
      } catch {
        params[name] = v;
      }
    }
    pos = next;
  }
  return { params, files };
}
