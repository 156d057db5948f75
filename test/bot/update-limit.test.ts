/**
 * The bound on updates handled at once (FACECHAIN_MAX_CONCURRENT_UPDATES, bot/update-limit.ts):
 * the limit itself, and the real front-ends sharing one limit through startFrontends. The
 * platforms' answers are held back by a proxy in front of the fake platform APIs (a slow
 * platform is the outside world), so the test sees exactly how many updates are being answered
 * at once, across Telegram, Discord and the web API, and that the excess waits, none dropped.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FrontEnd } from '../../bot/adapter.ts';
import { startFrontends } from '../../bot/frontends.ts';
import { UpdateLimit } from '../../bot/update-limit.ts';
import { loadConfig } from '../../core/config.ts';
import { until } from '../queue/helpers.ts';
import { APP_ID, TOKEN as DC_TOKEN, FakeDiscord } from './fake-discord.ts';
import { FakeTelegram, TOKEN as TG_TOKEN } from './fake-telegram.ts';
import { type Stack, startStack } from './harness.ts';

describe('UpdateLimit', () => {
  it('runs at most `max` tasks at once, the rest in arrival order, and drops none', async () => {
    const limit = new UpdateLimit(2);
    const gates: Array<() => void> = [];
    const started: number[] = [];
    const runs = [0, 1, 2, 3, 4].map((i) =>
      limit.run(async () => {
        started.push(i);
        await new Promise<void>((r) => gates.push(r));
        return i * 10;
      }),
    );
    await until(() => started.length === 2);
    expect([limit.active, limit.waiting]).toEqual([2, 3]);
    await new Promise((r) => setTimeout(r, 20));
    expect(started).toEqual([0, 1]);
    gates[1]!(); // the second finishes first: the oldest waiter takes its slot
    await until(() => started.length === 3);
    expect(started).toEqual([0, 1, 2]);
    expect([limit.active, limit.waiting]).toEqual([2, 2]);
    for (let k = 0; k < 10 && gates.length < 5; k++) {
      for (const g of gates) g();
      await new Promise((r) => setTimeout(r, 5));
    }
    for (const g of gates) g();
    expect(await Promise.all(runs)).toEqual([0, 10, 20, 30, 40]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect([limit.active, limit.waiting]).toEqual([0, 0]);
  });

  it('gives the slot back when a task fails', async () => {
    const limit = new UpdateLimit(1);
    await expect(limit.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limit.run(async () => 'next')).toBe('next');
    expect(limit.active).toBe(0);
  });

  it('refuses a bound under 1', () => {
    expect(() => new UpdateLimit(0)).toThrow(RangeError);
    expect(() => loadConfig({ FACECHAIN_MAX_CONCURRENT_UPDATES: '0' })).toThrow(
      /FACECHAIN_MAX_CONCURRENT_UPDATES/,
    );
    expect(loadConfig({}).FACECHAIN_MAX_CONCURRENT_UPDATES).toBe(16);
  });
});

/** Requests held now and at most, over every proxy sharing it. */
interface Gauge {
  now: number;
  peak: number;
}

/** A proxy to a fake platform API that holds the requests `hold` picks until released. */
class HoldingProxy {
  url = '';
  held: Array<{ path: string; release: () => void }> = [];
  private server: http.Server;

  constructor(
    private readonly target: () => string,
    private readonly hold: (method: string, path: string) => boolean,
    private readonly gauge: Gauge,
  ) {
    this.server = http.createServer((req, res) => {
      this.forward(req, res).catch(() => res.writeHead(502).end());
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const h of this.held.splice(0)) h.release();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Let the oldest held request through. */
  releaseOne(): boolean {
    const h = this.held.shift();
    h?.release();
    return !!h;
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = req.url ?? '/';
    if (this.hold(req.method ?? 'GET', url)) {
      await new Promise<void>((release) => {
        this.held.push({ path: url, release });
        this.gauge.now++;
        this.gauge.peak = Math.max(this.gauge.peak, this.gauge.now);
      });
      this.gauge.now--;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k)) headers[k] = v;
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    const answer = await fetch(`${this.target()}${url}`, { method: req.method, headers, body });
    const out = Buffer.from(await answer.arrayBuffer());
    const back: Record<string, string> = {};
    for (const [k, v] of answer.headers)
      if (k === 'content-type' || k === 'retry-after' || k.startsWith('x-ratelimit')) back[k] = v;
    res.writeHead(answer.status, back).end(out);
  }
}

describe('one bound shared by Telegram, Discord and the web API', () => {
  let stack: Stack;
  let tg: FakeTelegram;
  let dc: FakeDiscord;
  let tgProxy: HoldingProxy;
  let dcProxy: HoldingProxy;
  let started: FrontEnd[] = [];
  const gauge: Gauge = { now: 0, peak: 0 };

  beforeAll(async () => {
    stack = await startStack();
    tg = await new FakeTelegram().start();
    dc = await new FakeDiscord().start();
    // The answers to commands: Telegram's sendMessage, Discord's edit of the deferred reply.
    tgProxy = await new HoldingProxy(
      () => tg.url,
      (_m, p) => p.endsWith('/sendMessage'),
      gauge,
    ).start();
    dcProxy = await new HoldingProxy(
      () => dc.url,
      (m, p) => m === 'PATCH' && /\/webhooks\/\d+\/[^/]+\/messages\/@original$/.test(p),
      gauge,
    ).start();
    started = await startFrontends({
      producer: stack.producer,
      deliverers: {},
      config: loadConfig({
        WEB_PORT: '0',
        TELEGRAM_BOT_TOKEN: TG_TOKEN,
        TELEGRAM_API_ROOT: tgProxy.url,
        DISCORD_TOKEN: DC_TOKEN,
        DISCORD_APPLICATION_ID: APP_ID,
        DISCORD_API_ROOT: `${dcProxy.url}/api`,
        FACECHAIN_DISCORD_REGISTER: 'false',
        FACECHAIN_MAX_CONCURRENT_UPDATES: '2',
      }),
    });
  });

  afterAll(async () => {
    while (tgProxy?.releaseOne() || dcProxy?.releaseOne());
    await Promise.all(started.map((f) => f.stop()));
    await tgProxy?.stop();
    await dcProxy?.stop();
    await stack?.close();
    await tg?.stop();
    await dc?.stop();
  });

  it('answers at most 2 updates at once across platforms; the others wait and are all answered', async () => {
    const held = () => tgProxy.held.length + dcProxy.held.length;
    {
      const chats = [501, 502, 503];
      for (const id of chats)
        tg.push(
          tg.message({ id, is_bot: false, first_name: `t${id}` }, { id, type: 'private' }, { text: '/help' }),
        );
      const interactions = ['601', '602', '603'].map((n) =>
        dc.slash({ id: `800000000000000${n}`, username: `d${n}` }, 'help'),
      );

      await until(() => held() === 2, 20_000);
      // Everything was acknowledged on Discord (defer first), although only 2 are being answered.
      await until(() => interactions.every((i) => dc.ackedAt.has(i)), 20_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(held()).toBe(2);

      // The web API waits its turn too.
      const web = started.find((f) => f.name === 'web') as FrontEnd & { address: string };
      let webAnswered = false;
      const webCall = fetch(`${web.address}api/command`, {
        method: 'POST',
        headers: { cookie: `fc_sid=${'c'.repeat(32)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ requestId: 'limit-web-1', command: 'help' }),
      }).then((r) => {
        webAnswered = true;
        return r;
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(webAnswered).toBe(false);

      // Release one answer at a time until all 7 updates are answered.
      await until(
        () => {
          if (held() > 0) tgProxy.releaseOne() || dcProxy.releaseOne();
          const tgDone = chats.every((c) =>
            tg.callsOf('sendMessage').some((x) => Number(x.params.chat_id) === c),
          );
          const dcDone =
            dc.calls.filter((c) => c.method === 'PATCH' && c.path.endsWith('/messages/@original')).length >=
            3;
          return tgDone && dcDone && webAnswered;
        },
        20_000,
        50,
      );
      expect((await webCall).status).toBe(200);
    }
    // Never more than 2 answers under way at once, over both platforms.
    expect(gauge.peak).toBe(2);
    // Each Telegram chat got exactly its one answer.
    expect(
      tg
        .callsOf('sendMessage')
        .map((c) => Number(c.params.chat_id))
        .sort(),
    ).toEqual([501, 502, 503]);
  });
});
