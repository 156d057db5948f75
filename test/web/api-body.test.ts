/**
 * The web API's request bodies, over real HTTP against the real command and job layers:
 * malformed JSON is a 400 in the user's language, uploads are streamed to a folder per request
 * and removed after the command, an oversized upload is refused with 413 while it is still
 * arriving, and nothing is left on disk after a refusal or an abandoned upload.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebFrontend } from '../../bot/web/server.ts';
import { type Stack, startStack } from '../bot/harness.ts';
import { until } from '../queue/helpers.ts';

const FACES = path.resolve(import.meta.dirname, '../fixtures/faces');
const CAP = 1024 * 1024;

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? [p, ...filesUnder(p)] : [p];
  });
}

const rid = () => randomBytes(8).toString('hex');

describe('web API request bodies', () => {
  let stack: Stack;
  let web: WebFrontend;
  let uploads: string;
  const sid = randomBytes(16).toString('hex');
  const cookie = `fc_sid=${sid}`;

  beforeAll(async () => {
    stack = await startStack();
    uploads = mkdtempSync(path.join(os.tmpdir(), 'fc-web-uploads-'));
    web = new WebFrontend({
      services: stack.services,
      port: 0,
      host: '127.0.0.1',
      progressPollMs: 100,
      uploadDir: uploads,
      maxUploadBytes: CAP,
    });
    await web.start();
    await stack.startWorker({ web });
  });

  afterAll(async () => {
    await web?.stop();
    await stack?.close();
    rmSync(uploads, { recursive: true, force: true });
  });

  /** What the API answers: its status and JSON body. */
  interface Answer {
    status: number;
    json(): Promise<Record<string, unknown> & { error?: string; message?: string; text?: string }>;
  }
  const post = (body: string | FormData, headers: Record<string, string> = {}): Promise<Answer> =>
    fetch(`${web.address}api/command`, { method: 'POST', headers: { cookie, ...headers }, body }) as Promise<
      Response & Answer
    >;

  it('answers malformed JSON with 400 and a message in the user language, not 500', async () => {
    const broken = await post('{"requestId": "abcdefgh12", "command": ', {
      'content-type': 'application/json',
    });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toEqual({
      error: 'bad_json',
      message: 'The request could not be read (not valid JSON). Reload the page and try again.',
    });

    const zh = await post('not json at all', {
      'content-type': 'application/json',
      'accept-language': 'zh-CN',
    });
    expect(zh.status).toBe(400);
    expect((await zh.json()).message).toBe('无法读取请求（不是有效的 JSON）。请刷新页面后重试。');

    // Valid JSON that is not an object is as unreadable as a command.
    for (const body of ['[1, 2]', '"help"', 'null', '42']) {
      const res = await post(body, { 'content-type': 'application/json' });
      expect(res.status, body).toBe(400);
      expect((await res.json()).error).toBe('bad_json');
    }

    // The multipart form's options field is JSON too.
    const form = new FormData();
    form.append('requestId', rid());
    form.append('command', 'train');
    form.append('options', '{"count": ');
    form.append(
      'file',
      new Blob([readFileSync(path.join(FACES, 'messi5.jpg'))], { type: 'image/jpeg' }),
      'm.jpg',
    );
    const opts = await post(form);
    expect(opts.status).toBe(400);
    expect(await opts.json()).toMatchObject({ error: 'bad_json' });
    expect(filesUnder(uploads)).toEqual([]);

    // A well-formed command still works after all that.
    const ok = await post(JSON.stringify({ requestId: rid(), command: 'help' }), {
      'content-type': 'application/json',
    });
    expect(ok.status).toBe(200);
    expect((await ok.json()).type).toBe('reply');
  });

  it('answers a form without a boundary with 400 and a JSON body over 1 MB with 413', async () => {
    const noBoundary = await post('--x\r\n', { 'content-type': 'multipart/form-data' });
    expect(noBoundary.status).toBe(400);
    expect((await noBoundary.json()).error).toBe('bad_form');

    const truncated = await post('--b\r\ncontent-disposition: form-data; name="requestId"\r\n\r\nabc', {
      'content-type': 'multipart/form-data; boundary=b',
    });
    expect(truncated.status).toBe(400);
    expect((await truncated.json()).error).toBe('bad_form');

    const big = await post(JSON.stringify({ requestId: rid(), text: 'x'.repeat(1024 * 1024 + 10) }), {
      'content-type': 'application/json',
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: 'too_large' });
  });

  it('streams uploaded photos to disk, gives them to the command, and removes them after', async () => {
    const accept = await post(JSON.stringify({ requestId: rid(), button: 'consent:accept' }), {
      'content-type': 'application/json',
    });
    expect(accept.status).toBe(200);

    const photo = readFileSync(path.join(FACES, 'sample2.jpg'));
    const form = new FormData();
    form.append('requestId', rid());
    form.append('command', 'train');
    // No declared type: the name decides, as before.
    form.append('file', new Blob([photo]), '自拍 1.jpg');
    const res = await post(form);
    expect(res.status).toBe(200);
    const reply = await res.json();
    expect(reply.text).toMatch(/^Got 1 photo/);
    expect(reply.jobId).toBeTruthy();
    // The command stored the bytes that came in (read back from the upload folder).
    const stored = filesUnder(path.join(stack.sys.artifactsDir, `web-${sid}`)).filter((f) =>
      f.endsWith('.jpg'),
    );
    expect(stored.map((f) => readFileSync(f).equals(photo))).toContain(true);
    // And the upload folder is gone by the time the answer arrives.
    expect(filesUnder(uploads)).toEqual([]);
  });

  it('refuses an oversized upload with 413 while it is still streaming, and keeps nothing', async () => {
    const boundary = 'fcBoundary42';
    const head = Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="requestId"\r\n\r\n${rid()}\r\n` +
        `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="huge.jpg"\r\n` +
        'content-type: image/jpeg\r\n\r\n',
    );
    const chunk = Buffer.alloc(64 * 1024, 7);
    const total = 256 * 1024 * 1024; // what the client would send if nobody stopped it
    let sent = 0;
    const answer = await new Promise<{ status: number; body: string; sentBefore: number }>(
      (resolve, reject) => {
        const req = http.request(`${web.address}api/command`, {
          method: 'POST',
          // No content-length: the cap must be enforced on what arrives, not on what was announced.
          headers: {
            cookie,
            'content-type': `multipart/form-data; boundary=${boundary}`,
            'transfer-encoding': 'chunked',
          },
        });
        let answered = false;
        req.on('response', (res) => {
          answered = true;
          const sentBefore = sent;
          let body = '';
          res.on('data', (c) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, sentBefore }));
          res.on('error', reject);
        });
        req.on('error', (e) => {
          if (!answered) reject(e);
        });
        req.write(head);
        // A client on a fast link (about 64 MB/s): without a refusal it would send for seconds.
        const pump = async () => {
          while (!answered && sent < total) {
            sent += chunk.length;
            if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
            await new Promise((r) => setTimeout(r, 1));
          }
          if (!answered) req.end();
        };
        void pump();
      },
    );
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({
      error: 'too_large',
      message: 'The upload is larger than 1 MB. Send fewer or smaller files.',
    });
    // Refused while the body was still arriving: after about the cap, long before its end.
    expect(answer.sentBefore).toBeGreaterThan(CAP);
    expect(answer.sentBefore).toBeLessThan(total / 8);
    expect(filesUnder(uploads)).toEqual([]);
  });

  it('refuses an announced Content-Length over the cap before reading the body', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${web.address}api/command`, {
        method: 'POST',
        headers: {
          cookie,
          'content-type': 'multipart/form-data; boundary=x',
          'content-length': String(50 * 1024 * 1024),
        },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', () => {});
      req.flushHeaders(); // headers only: the answer must not wait for a body
      setTimeout(() => reject(new Error('no answer to the headers alone')), 5000).unref();
    });
    expect(status).toBe(413);
    expect(filesUnder(uploads)).toEqual([]);
  });

  it('removes what an abandoned upload had written', async () => {
    const boundary = 'fcAbandon';
    const req = http.request(`${web.address}api/command`, {
      method: 'POST',
      headers: {
        cookie,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'transfer-encoding': 'chunked',
      },
    });
    req.on('error', () => {});
    req.write(
      `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="a.jpg"\r\n` +
        'content-type: image/jpeg\r\n\r\n',
    );
    req.write(Buffer.alloc(300 * 1024, 1));
    // The partial file is on disk, not in memory...
    await until(() => filesUnder(uploads).some((f) => !statSync(f).isDirectory() && statSync(f).size > 0));
    req.destroy();
    // ...and goes when the client goes.
    await until(() => filesUnder(uploads).length === 0);
  });

  it('refuses more than 25 files in one request with 413', async () => {
    const form = new FormData();
    form.append('requestId', rid());
    form.append('command', 'train');
    for (let i = 0; i < 26; i++)
      form.append('file', new Blob([Buffer.alloc(10, i)], { type: 'image/jpeg' }), `${i}.jpg`);
    const res = await post(form);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      error: 'too_many_files',
      message: 'Too many files: at most 25 in one request.',
    });
    expect(filesUnder(uploads)).toEqual([]);
  });
});
