/**
 * The local web playground: a small node:http server for a static page plus a JSON API over the
 * same commands and job layer as the chat bots. Each browser gets a session cookie that is its
 * user id ("web-<session>"); results stream back over Server-Sent Events. Listens on localhost
 * unless configured otherwise; no tokens needed.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Locale, resolveLocale, translate } from '../../base/i18n/index.ts';
import { log } from '../../base/log.ts';
import { parseButtonId } from '../../commands/kit/buttons.ts';
import { type DispatchOptions, localeFor } from '../../commands/kit/dispatch.ts';
import { parseTextCommand } from '../../commands/kit/parse-text.ts';
import { type Services, styleText } from '../../commands/kit/services.ts';
import type { Attachment, Invocation } from '../../commands/kit/types.ts';
import type { Deliverer, DeliveryContext, Reply, ReplyTarget } from '../../queue/reply.ts';
import { type FrontEnd, selectAsButtons } from '../adapter.ts';
import { Conversation } from '../conversation.ts';
import type { UpdateLimit } from '../update-limit.ts';
import { BodyError, type RequestBody, readRequestBody } from './body.ts';

const logger = log('web');
const STATIC = path.join(path.dirname(fileURLToPath(import.meta.url)), 'static');
const STATIC_FILES: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/style.css': 'style.css',
};
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  mp4: 'video/mp4',
  json: 'application/json',
};
const SESSION_RE = /^[a-f0-9]{32}$/;
/** One upload of up to 20 photos; the commands check each file against FACECHAIN_MAX_IMAGE_BYTES. */
const MAX_UPLOAD = 200 * 1024 * 1024;
/** Commands without files: text, options, a button id. */
const MAX_JSON = 1024 * 1024;
/** Hard cap on files per request; the commands' own limits (20 photos) answer below it, in words. */
const MAX_FILES = 25;
/** After refusing an upload, how long the client may go on sending before the connection is cut. */
const REFUSED_DRAIN_MS = 2000;
/** Upload folders older than this at start-up were left by a crash. */
const STALE_UPLOAD_MS = 3600_000;
/** Sessions without a page open are forgotten after this long (their results stay in storage). */
const SESSION_IDLE_MS = 6 * 3600_000;

export interface WebOptions {
  services: Services;
  port: number;
  host: string;
  progressPollMs?: number;
  /** What the dispatcher enforces (the operator's policy). Default: from the settings. */
  dispatch?: DispatchOptions;
  /** Bound on commands handled at once, shared with the other front-ends (bot/update-limit.ts). */
  updates?: UpdateLimit;
  /** Where uploads are streamed, one folder per request, removed after its command. Default: the system temp folder. */
  uploadDir?: string;
  /** Largest request with files (bytes); default 200 MB. */
  maxUploadBytes?: number;
}

/** What the page receives: a reply, later deliveries and progress lines. */
export interface WebEvent {
  type: 'reply' | 'delivery' | 'progress';
  text: string;
  images?: string[];
  /** Per image: its caption (a result's likeness). */
  captions?: Array<string | null>;
  /** Indices of images shown blurred until clicked (flagged by the safety check). */
  spoilers?: number[];
  /** A generation's preview picture (a data: URL; the page shows it in the job's row). */
  preview?: string;
  video?: string;
  buttons?: Array<Array<{ id: string; label: string; style?: string }>>;
  jobId?: string;
  state?: string;
  percent?: number;
  error?: boolean;
}

interface Session {
  clients: Set<http.ServerResponse>;
  lastSeen: number;
  /** Recent events, replayed when the page (re)connects so nothing delivered is lost. */
  inbox: Array<{ id: number; ev: WebEvent }>;
  /** Id of the last event, so a reconnecting page (Last-Event-ID) gets only what it missed. */
  seq: number;
}

export class WebFrontend implements FrontEnd, Deliverer {
  readonly name = 'web';
  address = '';
  private server: http.Server;
  private sessions = new Map<string, Session>();
  private readonly conversation: Conversation;

  constructor(private readonly opts: WebOptions) {
    // Progress goes to the page as events: no platform edit limit, so every change is sent.
    this.conversation = new Conversation({
      services: opts.services,
      ...(opts.dispatch ? { dispatch: opts.dispatch } : {}),
      editIntervalMs: 0,
      progressPollMs: opts.progressPollMs ?? 5000,
      updates: opts.updates,
    });
    this.server = http.createServer((req, res) => {
      this.route(req, res).catch((e) => {
        logger.warn({ err: e }, 'web request failed');
        if (!res.headersSent) json(res, 500, { error: 'internal' });
        else res.end();
      });
    });
  }

  /** Where this server streams uploads. */
  get uploadDir(): string {
    return this.opts.uploadDir ?? path.join(os.tmpdir(), 'facechain-web-uploads');
  }

  async start(): Promise<void> {
    await this.removeStaleUploads();
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, resolve);
    });
    const a = this.server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    this.address = `http://${host}:${a.port}/`;
    logger.info({ url: this.address }, 'web playground listening');
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Upload folders a crashed process left (photos are personal data); recent ones may be another process's. */
  private async removeStaleUploads(): Promise<void> {
    const names = await readdir(this.uploadDir).catch(() => [] as string[]);
    for (const n of names.filter((x) => x.startsWith('upload-'))) {
      const p = path.join(this.uploadDir, n);
      const s = await stat(p).catch(() => undefined);
      if (s && Date.now() - s.mtimeMs > STALE_UPLOAD_MS) await rm(p, { recursive: true, force: true });
    }
  }

  private session(id: string): Session {
    let s = this.sessions.get(id);
    if (!s) {
      if (this.sessions.size >= 1000) this.prune();
      s = { clients: new Set(), inbox: [], seq: 0, lastSeen: Date.now() };
      this.sessions.set(id, s);
    }
    s.lastSeen = Date.now();
    return s;
  }

  private prune(): void {
    const cutoff = Date.now() - SESSION_IDLE_MS;
    for (const [id, s] of this.sessions)
      if (s.clients.size === 0 && s.lastSeen < cutoff) this.sessions.delete(id);
  }

  private push(sessionId: string, ev: WebEvent): void {
    const s = this.session(sessionId);
    const id = ++s.seq;
    s.inbox.push({ id, ev });
    if (s.inbox.length > 100) s.inbox.shift();
    for (const c of s.clients) c.write(`id: ${id}\ndata: ${JSON.stringify(ev)}\n\n`);
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const file = STATIC_FILES[url.pathname];
    if (req.method === 'GET' && file) {
      const sid = this.sessionOf(req) ?? randomBytes(16).toString('hex');
      const body = await readFile(path.join(STATIC, file));
      res.writeHead(200, {
        'content-type': TYPES[file.split('.').pop()!],
        'cache-control': 'no-store',
        'set-cookie': `fc_sid=${sid}; Path=/; HttpOnly; SameSite=Strict`,
        'x-content-type-options': 'nosniff',
      });
      res.end(body);
      return;
    }
    const sid = this.sessionOf(req);
    if (!sid) return json(res, 401, { error: 'no_session', message: 'Reload the page to start a session.' });
    if (req.method === 'GET' && url.pathname === '/api/events') return this.events(sid, req, res);
    if (req.method === 'GET' && url.pathname === '/api/styles') {
      // Names and descriptions in the browser's language; the preview picture where a pack has one.
      const locale = resolveLocale(req.headers['accept-language']?.split(',')[0]);
      const styles = await this.opts.services.styles.list();
      return json(res, 200, {
        styles: styles.map((s) => ({
          id: s.id,
          ...styleText(s, locale),
          ...(s.preview ? { preview: `/api/style-preview/${encodeURIComponent(s.id)}` } : {}),
        })),
      });
    }
    if (req.method === 'GET' && url.pathname.startsWith('/api/style-preview/')) {
      return this.stylePreview(decodeURIComponent(url.pathname.slice('/api/style-preview/'.length)), res);
    }
    if (req.method === 'GET' && url.pathname.startsWith('/api/artifact/')) {
      return this.artifact(sid, decodeURIComponent(url.pathname.slice('/api/artifact/'.length)), res);
    }
    if (req.method === 'POST' && url.pathname === '/api/command') {
      // Same-origin only: a page elsewhere must not drive the playground with this cookie.
      const origin = req.headers.origin;
      if (origin && new URL(origin).host !== req.headers.host)
        return json(res, 403, { error: 'cross_origin' });
      return this.command(sid, req, res);
    }
    json(res, 404, { error: 'not_found' });
  }

  private sessionOf(req: http.IncomingMessage): string | undefined {
    const m = /(?:^|;\s*)fc_sid=([a-f0-9]+)/.exec(req.headers.cookie ?? '');
    return m && SESSION_RE.test(m[1]) ? m[1] : undefined;
  }

  private events(sid: string, req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    const s = this.session(sid);
    const last = Number(req.headers['last-event-id'] ?? 0) || 0;
    for (const { id, ev } of s.inbox) if (id > last) res.write(`id: ${id}\ndata: ${JSON.stringify(ev)}\n\n`);
    s.clients.add(res);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    req.on('close', () => {
      clearInterval(ping);
      s.clients.delete(res);
    });
  }

  /** A style pack's preview picture (public: packs are the deployment's, not a user's). */
  private async stylePreview(id: string, res: http.ServerResponse): Promise<void> {
    const hit = (await this.opts.services.styles.list()).find((s) => s.id === id);
    const p = hit?.preview;
    const bytes =
      p?.bytes ?? (p?.ref ? await this.opts.services.uploads.get(p.ref).catch(() => undefined) : undefined);
    if (!bytes) return json(res, 404, { error: 'not_found' });
    res.writeHead(200, {
      'content-type': TYPES[sniffExt(bytes)] ?? 'application/octet-stream',
      'cache-control': 'public, max-age=3600',
      'x-content-type-options': 'nosniff',
    });
    res.end(bytes);
  }

  private async artifact(sid: string, ref: string, res: http.ServerResponse): Promise<void> {
    // A session may read only its own files.
    if (!ref.startsWith(`web-${sid}/`)) return json(res, 404, { error: 'not_found' });
    try {
      const bytes = await this.opts.services.uploads.get(ref);
      const ext = ref.split('.').pop() ?? '';
      res.writeHead(200, {
        'content-type': TYPES[ext] ?? 'application/octet-stream',
        'cache-control': 'private, max-age=3600',
      });
      res.end(bytes);
    } catch {
      json(res, 404, { error: 'not_found' });
    }
  }

  private async command(sid: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let body: RequestBody;
    try {
      body = await readRequestBody(req, {
        maxBytes: this.opts.maxUploadBytes ?? MAX_UPLOAD,
        maxJsonBytes: MAX_JSON,
        maxFiles: MAX_FILES,
        uploadDir: this.uploadDir,
      });
    } catch (e) {
      if (!(e instanceof BodyError)) throw e;
      const platformLocale = browserLocale(req);
      const locale = await localeFor(this.opts.services, {
        user: { platform: 'web', id: sid },
        platformLocale,
      }).catch(() => platformLocale);
      return refuse(req, res, e, locale);
    }
    try {
      await this.run(sid, req, res, body);
    } finally {
      await body.dispose();
    }
  }

  private async run(
    sid: string,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: RequestBody,
  ): Promise<void> {
    const { fields } = body;
    const attachments: Attachment[] = body.files.map((f) => ({
      name: f.name,
      mime: f.mime,
      size: f.size,
      fetch: () => f.read(),
    }));
    const requestId = String(fields.requestId ?? '');
    if (!/^[A-Za-z0-9_-]{8,64}$/.test(requestId)) {
      return json(res, 400, {
        error: 'bad_request',
        message: 'requestId (8-64 letters, digits, - or _) is required.',
      });
    }
    let command = String(fields.command ?? '');
    let options = (fields.options ?? {}) as Record<string, unknown>;
    if (typeof fields.button === 'string') {
      const b = parseButtonId(fields.button);
      if (!b) return json(res, 400, { error: 'bad_button' });
      ({ command, options } = b);
    } else if (typeof fields.text === 'string') {
      const parsed = parseTextCommand(fields.text);
      if (!parsed)
        return json(res, 400, { error: 'bad_command', message: 'Commands start with "/", e.g. /help.' });
      ({ command, options } = parsed);
    }
    const user = { platform: 'web' as const, id: sid };
    const inv: Invocation = {
      id: requestId,
      platform: 'web',
      user,
      chat: { platform: 'web', id: sid, kind: 'private' },
      command,
      options,
      attachments,
      platformLocale: browserLocale(req),
      replyTarget: { platform: 'web', chatId: sid, userId: sid },
      isChatAdmin: async () => false,
    };
    // The HTTP answer is the reply; progress and results arrive as events. The command is done
    // with the uploaded files when it replies: they are removed before the answer goes out.
    let answered = false;
    await this.conversation.handle(inv, {
      duplicate: async () => {
        answered = true;
        await body.dispose();
        json(res, 200, { duplicate: true });
      },
      send: async (out, reply) => {
        answered = true;
        await body.dispose();
        json(res, 200, {
          type: 'reply',
          text: out.text,
          ...(out.buttons || out.select ? { buttons: selectAsButtons(out) } : {}),
          ...(out.images.some((i) => i.caption)
            ? { captions: out.images.map((i) => i.caption ?? null) }
            : {}),
          ...(out.images.length
            ? {
                images: out.images.map((i) =>
                  i.bytes
                    ? `data:image/jpeg;base64,${Buffer.from(i.bytes).toString('base64')}`
                    : `/api/artifact/${encodeURIComponent(i.ref ?? '')}`,
                ),
              }
            : {}),
          ...(reply.track ? { jobId: reply.track.jobId } : {}),
          ...(reply.isError ? { error: true } : {}),
        } satisfies WebEvent);
        const jobId = reply.track?.jobId;
        if (!jobId) return undefined;
        const progress = (line: string, view: { state: string; percent?: number }, preview?: string) =>
          this.push(sid, {
            type: 'progress',
            text: line,
            jobId,
            state: view.state,
            percent: view.state === 'completed' ? 100 : (view.percent ?? 0),
            ...(preview ? { preview } : {}),
          });
        return {
          key: `${sid}:${jobId}`,
          edit: async (_text, { line, view }) => progress(line, view),
          // The preview goes to the session's own page only, as a data: URL (it is never stored).
          editMedia: async (image, _text, { line, view }) =>
            progress(line, view, `data:image/jpeg;base64,${Buffer.from(image.bytes).toString('base64')}`),
        };
      },
    });
    if (!answered) json(res, 500, { error: 'internal' });
  }

  /** Deliverer: results for a browser session, shown live or on the next page load. */
  async deliver(target: ReplyTarget, reply: Reply, ctx: DeliveryContext): Promise<void> {
    const url = (ref: string) => `/api/artifact/${encodeURIComponent(ref)}`;
    await this.conversation.deliver(target, reply, ctx, async (out) =>
      this.push(target.chatId, {
        type: 'delivery',
        text: out.text,
        images: out.images.map((i) => url(i.ref ?? '')),
        ...(out.images.some((i) => i.caption) ? { captions: out.images.map((i) => i.caption ?? null) } : {}),
        ...(out.images.some((i) => i.spoiler)
          ? { spoilers: out.images.flatMap((i, n) => (i.spoiler ? [n] : [])) }
          : {}),
        ...(out.video ? { video: url(out.video.ref) } : {}),
        ...(out.buttons ? { buttons: out.buttons } : {}),
        ...(out.isError ? { error: true } : {}),
        jobId: ctx.requestId,
      }),
    );
  }

  async stop(): Promise<void> {
    await this.conversation.stop();
    for (const s of this.sessions.values()) for (const c of s.clients) c.end();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** The extension of an image by its first bytes (style previews are JPEG, PNG or WebP). */
function sniffExt(b: Uint8Array): string {
  if (b[0] === 0xff && b[1] === 0xd8) return 'jpg';
  if (b[0] === 0x89 && b[1] === 0x50) return 'png';
  if (b[0] === 0x52 && b[1] === 0x49 && b[8] === 0x57) return 'webp';
  return '';
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    .end(JSON.stringify(body));
}

function browserLocale(req: http.IncomingMessage): Locale {
  return resolveLocale(req.headers['accept-language']?.split(',')[0]);
}

/**
 * Answer a refused body in the user's language. A refused upload may still be arriving: the
 * connection is closed after the answer, and cut if the client goes on sending.
 */
function refuse(req: http.IncomingMessage, res: http.ServerResponse, e: BodyError, locale: Locale): void {
  if (e.code === 'aborted' || res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const params = Object.fromEntries(Object.entries(e.context).map(([k, v]) => [k, String(v)]));
  json(res, e.status, { error: e.code, message: translate(locale, `web.${e.code}`, params) });
  if (!req.complete) {
    // Closing at once would reset the connection under data still arriving, and the client
    // could lose the answer; the body is being read and dropped, for a short while.
    const cut = setTimeout(() => req.socket.destroy(), REFUSED_DRAIN_MS);
    cut.unref();
    req.once('end', () => clearTimeout(cut));
    req.socket.once('close', () => clearTimeout(cut));
  }
}
