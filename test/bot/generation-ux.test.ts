/**
 * What a user sees while and after portraits are made, through the real stack: grammY and
 * discord.js against the fake platform APIs, the real command and job layers, and a worker
 * running the real generate and upscale jobs on a fixture SD 1.5 model whose output is a real face
 * (test/pipelines/face-model.ts), so previews, fusion, likeness and ranking are all real.
 *
 * Telegram: a preview picture arrives (and is replaced) before the result; every progress call in
 * the chat keeps the edit interval; the album's captions carry the likeness, best first, with the
 * explanation the first time only; Info, Vary and Upscale work on that result.
 * Discord: the deferred reply shows the preview as its attachment before the result follows.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordFrontend } from '../../bot/discord/bot.ts';
import { installedStyles } from '../../bot/styles.ts';
import { TelegramFrontend } from '../../bot/telegram/bot.ts';
import { type WebEvent, WebFrontend } from '../../bot/web/server.ts';
import { decodeImage } from '../../core/image/codec.ts';
import { BUILTIN_STYLES_DIR } from '../../core/styles/catalog.ts';
import { generateProcessor } from '../../queue/jobs/generate.ts';
import { writeFaceModel } from '../pipelines/face-model.ts';
import { until } from '../queue/helpers.ts';
import { APP_ID, TOKEN as DC_TOKEN, type DcUser, FakeDiscord, GUILD_ID } from './fake-discord.ts';
import { type ApiCall, FakeTelegram, TOKEN as TG_TOKEN, type TgChat, type TgUser } from './fake-telegram.ts';
import { type Stack, startStack } from './harness.ts';
import { english } from './no-english.ts';

// Short, so the fixture generation (under a second) outlasts it several times over.
const EDIT_MS = 250;
const face = (f: string) => new Uint8Array(readFileSync(new URL(`../fixtures/faces/${f}`, import.meta.url)));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fc-genux-'));
const modelDir = path.join(tmp, 'sd');
const stylesDir = path.join(tmp, 'styles');

// Worker threads read their settings when they start: quick styles, three candidates, previews
// every 100 ms (the real default is 3 s; the throttle below is what the platforms see).
process.env.FACECHAIN_SD_MODEL_DIR = modelDir;
process.env.FACECHAIN_STYLES_DIR = stylesDir;
process.env.FACECHAIN_GENERATE_CANDIDATES = '3';
process.env.FACECHAIN_PREVIEW_INTERVAL_MS = '100';

/**
 * Style packs with few steps, so the fixture generations stay quick; "steady" has enough steps
 * that a generation outlasts the platforms' edit interval on a fast machine too (a preview can
 * only be shown by an edit made while the work runs).
 */
function writeQuickStyles(): void {
  for (const [id, steps] of [
    ['quick', 12],
    ['steady', 150],
  ] as const) {
    mkdirSync(path.join(stylesDir, id), { recursive: true });
    writeFileSync(
      path.join(stylesDir, id, 'style.json'),
      JSON.stringify({
        id,
        name: { en: id === 'quick' ? 'Quick test' : 'Steady test', zh: '快速测试' },
        base: 'sd15-film',
        prompt: 'studio portrait',
        sampler: { name: 'euler', steps },
        licence: { spdx: 'Apache-2.0', source: 'test' },
      }),
    );
  }
}

describe('generation as users see it', () => {
  let stack: Stack;
  let fake: FakeTelegram;
  let tg: TelegramFrontend;
  let dfake: FakeDiscord;
  let dc: DiscordFrontend;
  let web: WebFrontend;
  const sid = 'a1'.repeat(16);
  const zed: TgUser = { id: 7373, is_bot: false, first_name: 'Zed', language_code: 'en' };
  const dm: TgChat = { id: 7373, type: 'private', first_name: 'Zed' };
  const kai: DcUser = { id: '800000000000000073', username: 'kai' };

  async function prepare(platform: 'telegram' | 'discord' | 'web', id: string): Promise<void> {
    const user = `${{ telegram: 'tg', discord: 'dc', web: 'web' }[platform]}-${id}`;
    const photo = (await stack.producer.artifacts.put(user, face('astronaut.png'), { ext: 'png' })).ref;
    await stack.producer.enqueue(
      'prepare-identity',
      { user, target: { platform, chatId: id, userId: id }, identityId: 'me', photos: [photo] },
      { idempotencyKey: `cli-genux-${user}` },
    );
    await until(
      async () => (await stack.producer.records.getIdentity(user, 'me'))?.status === 'prepared',
      90_000,
    );
  }

  beforeAll(async () => {
    mkdirSync(modelDir, { recursive: true });
    await writeFaceModel(modelDir, 'sample2.jpg', 1);
    writeQuickStyles();
    stack = await startStack({ styles: await installedStyles([BUILTIN_STYLES_DIR, stylesDir]) });
    fake = await new FakeTelegram().start();
    tg = new TelegramFrontend({
      token: TG_TOKEN,
      apiRoot: fake.url,
      services: stack.services,
      editIntervalMs: EDIT_MS,
      progressPollMs: 50,
    });
    dfake = await new FakeDiscord().start();
    dc = new DiscordFrontend({
      token: DC_TOKEN,
      applicationId: APP_ID,
      guildId: GUILD_ID,
      apiRoot: dfake.api,
      services: stack.services,
      editIntervalMs: EDIT_MS,
      progressPollMs: 50,
    });
    web = new WebFrontend({ services: stack.services, port: 0, host: '127.0.0.1', progressPollMs: 50 });
    await web.start();
    // The real processors of the job table, resolved for the fixture folder (the main process
    // read its settings before this file set them).
    const generate = await generateProcessor(modelDir);
    await stack.startWorker(
      { telegram: tg, discord: dc, web },
      {
        generate,
        upscale: {
          kind: 'thread',
          module: new URL('../../queue/jobs/upscale.ts', import.meta.url).href,
          exportName: 'process',
        },
      },
    );
    await tg.start();
    await dc.start();
    await Promise.all([prepare('telegram', String(zed.id)), prepare('discord', kai.id), prepare('web', sid)]);
  }, 240_000);

  afterAll(async () => {
    await tg?.stop();
    await dc?.stop();
    await web?.stop();
    await stack?.close();
    await fake?.stop();
    await dfake?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const since = (n: number) => fake.calls.slice(n);
  const text = (c: ApiCall) => String(c.params.text ?? c.params.caption ?? '');
  const find = (n: number, re: RegExp, method?: string) =>
    fake.waitFor(() => since(n).find((c) => (!method || c.method === method) && re.test(text(c))), 120_000);
  const press = (data: string) => fake.push(fake.callback(zed, dm, data));

  it('Telegram: previews before the result, within the edit budget; likeness captions best first; info, vary, upscale', async () => {
    let mark = fake.calls.length;
    press('consent:accept');
    await find(mark, /Thank you/);

    mark = fake.calls.length;
    // "steady": a preview can only be shown while the work outlasts the edit interval.
    fake.push(fake.message(zed, dm, { text: '/portrait steady 2' }));
    const album = await fake.waitFor(() => since(mark).find((c) => c.method === 'sendMediaGroup'), 120_000);
    const buttons = await find(mark, /best likeness first/, 'sendMessage');
    const chat = since(mark).filter((c) => String(c.params.chat_id) === String(dm.id));

    // A preview picture of the portrait being drawn came first, with the progress line as its
    // caption; later ones replaced it in place; it was removed when the job ended.
    const previews = chat.filter(
      (c) => (c.method === 'sendPhoto' || c.method === 'editMessageMedia') && c.at < album.at,
    );
    expect(previews.length).toBeGreaterThan(0);
    expect(previews[0].method).toBe('sendPhoto');
    expect(text(previews[0])).toMatch(/\nPortraits: [a-z ,]+ \d+%/);
    const shown = await decodeImage(Object.values(previews[0].files)[0]!.bytes);
    expect(Math.max(shown.width, shown.height)).toBe(256);

    // Everything that changes the progress message (text, caption, picture) kept the interval.
    const edits = chat.filter(
      (c) =>
        (c.at < album.at &&
          ['editMessageText', 'editMessageCaption', 'editMessageMedia'].includes(c.method)) ||
        c === previews[0],
    );
    const finalPair = (a: ApiCall, b: ApiCall) => b.at - a.at < 50 && b.method === 'editMessageText';
    for (let i = 1; i < edits.length; i++)
      if (!finalPair(edits[i - 1], edits[i]))
        expect(edits[i].at - edits[i - 1].at).toBeGreaterThanOrEqual(EDIT_MS - 60);

    // The album: each picture captioned with its likeness, best first.
    const media = (
      typeof album.params.media === 'string' ? JSON.parse(album.params.media) : album.params.media
    ) as Array<{
      caption?: string;
    }>;
    const likeness = media.map((m) => Number(/^#(\d): likeness (\d+)%$/.exec(m.caption ?? '')?.[2]));
    expect(media.map((m) => /^#(\d)/.exec(m.caption ?? '')?.[1])).toEqual(['1', '2']);
    expect(likeness.every((l) => l > 45)).toBe(true);
    expect(likeness[0]).toBeGreaterThanOrEqual(likeness[1]);
    // The preview message is removed once the job ended.
    await fake.waitFor(() => since(mark).find((c) => c.method === 'deleteMessage'));
    // The first time, a line says what the number means.
    expect(text(buttons)).toContain('Likeness says how close');
    expect(since(mark).some((c) => /Made without a face model/.test(text(c)))).toBe(true);
    const markup = JSON.stringify(buttons.params.reply_markup);
    const jobId = /portrait:info:([^"]+)/.exec(markup)?.[1] ?? '';
    expect(markup).toContain(`portrait:vary:${jobId}`);
    expect(markup).toContain('Vary: strong (60%)');

    // Info: how it was made.
    mark = fake.calls.length;
    press(`portrait:info:${jobId}`);
    const info = await find(mark, /^Seed \d+/);
    expect(text(info)).toMatch(
      // No face model in the fixture folder (no LoRA, no FACT): info says the method was style only.
      /^Seed \d+ · style steady · sampler euler, 150 steps · 512×512\nMethod: style only, your face fused in afterwards \(no face model on this server\)\n#1: likeness \d+%$/,
    );
    const seed = Number(/^Seed (\d+)/.exec(text(info))?.[1]);

    // Vary: the best picture's seed with new variation noise at the strength on the button.
    mark = fake.calls.length;
    press(`portrait:vary:${jobId}`);
    await find(mark, /Making 2 variations of that portrait \(strength 25%/);
    const varied = await find(
      mark,
      /Here are 2 variations of your portrait, best likeness first\./,
      'sendMessage',
    );
    // Said once: the second result carries the numbers without the explanation.
    expect(text(varied)).not.toContain('Likeness says how close');
    const vjob = (await stack.services.jobs.list({ platform: 'telegram', id: String(zed.id) })).find(
      (j) => j.name === 'generate' && j.id !== jobId,
    );
    const vdata = (await stack.producer.findJob(vjob!.id))?.data as {
      seed?: number;
      variation?: { strength: number };
    };
    expect(vdata.seed).toBe(seed);
    expect(vdata.variation?.strength).toBe(0.25);

    // Upscale: the engine's img2img at twice the size.
    mark = fake.calls.length;
    press(`portrait:upscale:${jobId}`);
    await find(mark, /Redrawing that portrait at twice its size/);
    const big = await find(mark, /redrawn at 1024×1024/, 'sendPhoto');
    const up = await decodeImage(Object.values(big.files)[0]!.bytes);
    expect([up.width, up.height]).toEqual([1024, 1024]);
    expect(text(big)).toMatch(/#1: likeness \d+%/);
  }, 240_000);

  it('a Chinese user: progress, the pictures, their captions, buttons and info say nothing in English', async () => {
    const mei: TgUser = { id: 7474, is_bot: false, first_name: '梅', language_code: 'zh-hans' };
    const meiDm: TgChat = { id: 7474, type: 'private', first_name: '梅' };
    const inChat = (n: number) => since(n).filter((c) => String(c.params.chat_id) === String(meiDm.id));
    /** Texts, captions (album items too) and button labels. */
    const shown = (calls: ApiCall[]) =>
      calls.flatMap((c) => {
        const out = [text(c)];
        const media = typeof c.params.media === 'string' ? JSON.parse(c.params.media) : c.params.media;
        for (const m of Array.isArray(media) ? media : [media]) if (m?.caption) out.push(String(m.caption));
        const markup = c.params.reply_markup as
          | { inline_keyboard?: Array<Array<{ text: string }>> }
          | undefined;
        for (const row of markup?.inline_keyboard ?? []) for (const b of row) out.push(b.text);
        return out.filter(Boolean);
      });
    let mark = fake.calls.length;
    fake.push(fake.callback(mei, meiDm, 'consent:accept'));
    await fake.waitFor(() => inChat(mark).find((c) => /谢谢/.test(text(c))));
    // Prepared by a job enqueued directly (without the user's language, unlike the bot's own
    // photo flow): its report is not part of what is checked here.
    await prepare('telegram', String(mei.id));
    await fake.waitFor(() => inChat(mark).find((c) => /can be used/.test(text(c))));

    mark = fake.calls.length;
    fake.push(fake.message(mei, meiDm, { text: '/portrait quick 2' }));
    await fake.waitFor(() => inChat(mark).find((c) => c.method === 'sendMediaGroup'), 120_000);
    const buttons = await fake.waitFor(
      () => inChat(mark).find((c) => /portrait:info:/.test(JSON.stringify(c.params.reply_markup ?? ''))),
      120_000,
    );
    const jobId = /portrait:info:([^"]+)/.exec(JSON.stringify(buttons.params.reply_markup))?.[1] ?? '';
    const infoMark = fake.calls.length;
    fake.push(fake.callback(mei, meiDm, `portrait:info:${jobId}`));
    await fake.waitFor(() => inChat(infoMark).find((c) => /种子/.test(text(c))));
    const texts = shown(inChat(mark));
    // The captions carry the likeness in Chinese, and the result says it was made without a face model.
    expect(texts.some((t) => /相似度/.test(t))).toBe(true);
    expect(texts.length).toBeGreaterThan(4);
    for (const t of texts) expect(english(t), t).toBeUndefined();
  }, 240_000);

  it('Discord: the deferred reply shows the preview as its attachment before the result follows', async () => {
    let mark = dfake.calls.length;
    dfake.button(kai, 'consent:accept', { dm: true });
    await dfake.waitFor(() =>
      dfake.calls.slice(mark).find((c) => /Thank you/.test(dfake.contents([c])[0] ?? '')),
    );
    mark = dfake.calls.length;
    dfake.slash(
      kai,
      'portrait',
      [
        { name: 'style', type: 3, value: 'steady' },
        { name: 'count', type: 4, value: 1 },
      ],
      {
        dm: true,
      },
    );
    const result = await dfake.waitFor(
      () =>
        dfake.calls
          .slice(mark)
          .find((c) => c.method === 'POST' && /Here is your portrait/.test(dfake.contents([c])[0] ?? '')),
      120_000,
    );
    const original = dfake.calls
      .slice(mark)
      .filter((c) => c.method === 'PATCH' && c.path.endsWith('/messages/@original'));
    const withPreview = original.filter((c) => c.files.some((f) => f.name === 'preview.jpg'));
    expect(withPreview.length).toBeGreaterThan(0);
    expect(withPreview[0].at).toBeLessThan(result.at);
    // The webhook's edits (after the answer itself) kept the interval; the last removed the preview.
    for (let i = 2; i < original.length; i++)
      expect(original[i].at - original[i - 1].at).toBeGreaterThanOrEqual(EDIT_MS - 60);
    await dfake.waitFor(() => {
      const last = dfake.calls
        .filter((c) => c.method === 'PATCH' && c.path.endsWith('/messages/@original'))
        .at(-1);
      return last && last.files.length === 0 && /done/.test(dfake.contents([last])[0] ?? '')
        ? last
        : undefined;
    });
    expect(dfake.contents([result])[0]).toMatch(/1\. #1: likeness \d+%/);
  }, 180_000);

  it('web: the page receives the preview picture with the progress before the results', async () => {
    const headers = { cookie: `fc_sid=${sid}`, 'content-type': 'application/json' };
    const events: WebEvent[] = [];
    const stream = await fetch(`${web.address}api/events`, { headers });
    const reader = stream.body!.getReader();
    const pump = (async () => {
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += new TextDecoder().decode(value);
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const data = /^data: (.*)$/m.exec(buf.slice(0, i))?.[1];
          if (data) events.push(JSON.parse(data));
          buf = buf.slice(i + 2);
        }
      }
    })();
    const post = (body: Record<string, unknown>) =>
      fetch(`${web.address}api/command`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ requestId: `r${Math.random().toString(36).slice(2, 12)}`, ...body }),
      }).then((r) => r.json() as Promise<{ jobId?: string }>);
    await post({ button: 'consent:accept' });
    const queued = await post({ command: 'portrait', options: { style: 'quick', count: 2 } });
    expect(queued.jobId).toBeTruthy();
    await until(() => events.some((e) => e.type === 'delivery' && e.jobId === queued.jobId), 120_000);
    await reader.cancel();
    await pump.catch(() => {});
    const delivery = events.findIndex((e) => e.type === 'delivery' && e.jobId === queued.jobId);
    const previews = events.filter((e, i) => i < delivery && e.type === 'progress' && e.preview);
    expect(previews.length).toBeGreaterThan(0);
    expect(previews[0].preview).toMatch(/^data:image\/jpeg;base64,/);
    // The results carry their likeness, best first.
    const captions = events[delivery].captions ?? [];
    expect(captions.map((c) => /^#(\d): likeness \d+%$/.exec(c ?? '')?.[1])).toEqual(['1', '2']);
  }, 180_000);
});
