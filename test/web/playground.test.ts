/**
 * The web playground in a real browser (Chromium via playwright-core; test/global-setup.ts finds
 * it and passes its path in FACECHAIN_CHROMIUM) against the real
 * command layer and job layer: consent, upload, per-photo report, portrait request, progress.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebFrontend } from '../../bot/web/server.ts';
import { type Stack, startStack } from '../bot/harness.ts';
import { spokenFile, tmpDir } from '../media/helpers.ts';
import { findChromium } from '../setup/requirements.ts';

/** When run without the global set-up (e.g. from an editor): the same search. */
function findChromiumPath(): string {
  const found = findChromium(process.env);
  if (found && 'path' in found) return found.path;
  throw new Error(found?.error ?? 'No Chromium found: run "npm test", which finds or installs one.');
}

const FACES = path.resolve(import.meta.dirname, '../fixtures/faces');
const SHOTS = path.resolve(import.meta.dirname, '../../data/test-output');

describe('web playground', () => {
  let stack: Stack;
  let web: WebFrontend;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    stack = await startStack();
    web = new WebFrontend({ services: stack.services, port: 0, host: '127.0.0.1', progressPollMs: 100 });
    await web.start();
    await stack.startWorker({ web });
    browser = await chromium.launch({
      executablePath: process.env.FACECHAIN_CHROMIUM ?? findChromiumPath(),
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1100, height: 1500 } });
  });

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
    await stack?.close();
  });

  it('listens on localhost only by default and refuses cross-origin commands', async () => {
    expect(web.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const res = await fetch(`${web.address}api/command`, {
      method: 'POST',
      headers: {
        cookie: `fc_sid=${'a'.repeat(32)}`,
        origin: 'http://evil.example',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ requestId: 'abcdefgh12', command: 'help' }),
    });
    expect(res.status).toBe(403);
  });

  it('consent → upload → per-photo report → portrait → progress → clear result', async () => {
    await page.goto(web.address);
    await expect.poll(() => page.textContent('#consent-text')).toContain('Privacy notice');

    // Uploading before consent asks for consent and stores nothing.
    await page.setInputFiles('#files', [path.join(FACES, 'astronaut.png'), path.join(FACES, 'sample2.jpg')]);
    await page.click('#train');
    await expect
      .poll(() => page.textContent('#log'))
      .toContain('Please read and accept the privacy text first');

    await page.click('#accept');
    await expect.poll(() => page.textContent('#consent-state')).toContain('Accepted');

    await page.click('#train');
    await expect.poll(() => page.textContent('#report')).toContain('Got 2 photos');
    // The real prepare-identity job reports on each photo (one face accepted, a group photo rejected).
    await expect
      .poll(() => page.textContent('#report'), { timeout: 90_000 })
      .toMatch(/1 of 2 photos can be used[\s\S]*Used: astronaut\.png\.[\s\S]*sample2\.jpg shows 3 faces/);
    await expect.poll(() => page.locator('#report img').count()).toBeGreaterThan(0);
    await expect.poll(() => page.locator('.job.completed').count()).toBeGreaterThan(0);

    await page.click('#portrait');
    await expect
      .poll(() => page.textContent('#log'), { timeout: 30_000 })
      .toContain('Portrait generation is not available on this deployment');
    // Never a fake portrait.
    expect(await page.locator('#results img').count()).toBe(0);
    expect(await page.locator('.bubble.error').last().textContent()).toContain(
      'not available on this deployment',
    );
    await page.waitForTimeout(400); // let the progress bar's transition finish before the screenshot

    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, 'playground.png'), fullPage: true });
  }, 150_000);

  it('offers what the chats offer: the style gallery, a template photo, try-on, talk and style upload', async () => {
    // The gallery: one tile per installed style, saying when a style has no preview yet.
    const tiles = page.locator('.style-tile');
    await expect.poll(() => tiles.count()).toBe(10);
    expect(await tiles.first().textContent()).toContain('No preview yet');
    await page.locator('.style-tile', { hasText: 'Neon night' }).click();
    expect(await page.inputValue('#style')).toBe('neon-night');

    // A template photo with a chosen face: the real template job; the result carries its likeness.
    await page.setInputFiles('#template-photo', path.join(FACES, 'sample2.jpg'));
    await page.fill('#template-face', '2');
    await page.click('#template-form button');
    await expect
      .poll(
        () =>
          page
            .locator('#results figcaption .likeness')
            .first()
            .textContent()
            .catch(() => ''),
        {
          timeout: 60_000,
        },
      )
      .toMatch(/^#1: likeness \d+%$/);
    await expect.poll(() => page.textContent('#log')).toContain('face 2 of 3');

    // Try-on: the basic try-on on this CPU worker, said as such, its result captioned with its likeness.
    const captions = page.locator('#results figcaption .likeness');
    const before = await captions.count();
    await page.setInputFiles('#tryon-photo', path.join(FACES, 'messi5.jpg'));
    await page.click('#tryon-form button');
    await expect.poll(() => page.textContent('#log'), { timeout: 60_000 }).toContain('Basic try-on');
    await expect.poll(() => captions.count(), { timeout: 30_000 }).toBe(before + 1);

    // Talk with text: the basic animator's video plays in a video element.
    await page.fill('#talk-text', 'Hello from the playground.');
    await page.click('#talk-form button');
    await expect.poll(() => page.locator('#results video').count(), { timeout: 90_000 }).toBe(1);

    // Talk with a recording: the upload is decoded and animated; a second video plays.
    const wav = spokenFile('A recording from the page.', path.join(tmpDir(), 'recording.wav'));
    await page.fill('#talk-text', '');
    await page.setInputFiles('#talk-audio', wav);
    await page.click('#talk-form button');
    await expect.poll(() => page.locator('#results video').count(), { timeout: 90_000 }).toBe(2);
    await page.setInputFiles('#talk-audio', []);

    // A style upload that is no LoRA is refused with the reason.
    await page.setInputFiles('#mystyle-file', {
      name: 'fake.safetensors',
      mimeType: 'application/octet-stream',
      buffer: Buffer.alloc(64, 1),
    });
    await page.click('#mystyle-form button');
    await expect.poll(() => page.textContent('#log')).toContain('"fake.safetensors" was not stored');
  }, 150_000);

  it('says a picture is no longer stored instead of showing a broken image', async () => {
    const sid = (await page.context().cookies()).find((c) => c.name === 'fc_sid')?.value;
    expect(sid).toBeTruthy();
    // A result whose file the retention sweep (or the user) already deleted.
    const gone = `web-${sid}/${'0'.repeat(64)}.png`;
    await web.deliver(
      { platform: 'web', chatId: sid as string, userId: sid as string },
      { text: 'old result', images: [gone] },
      {
        requestId: 'gone-1',
        job: 'generate',
        user: `web-${sid}`,
        artifacts: stack.producer.artifacts,
        signal: new AbortController().signal,
      },
    );
    await expect
      .poll(() =>
        page
          .locator('#results .gone')
          .first()
          .textContent()
          .catch(() => ''),
      )
      .toContain('This picture is no longer stored');
  });

  it('speaks Simplified Chinese to a zh-CN browser (page labels and bot replies)', async () => {
    const zhPage = await browser.newPage({ locale: 'zh-CN', viewport: { width: 1100, height: 900 } });
    try {
      await zhPage.goto(web.address);
      await expect.poll(() => zhPage.textContent('#consent-text')).toContain('隐私说明');
      expect(await zhPage.textContent('#accept')).toBe('我同意');
      expect(await zhPage.textContent('#train')).toBe('检查我的照片');
      await zhPage.fill('#cmd', '/status');
      await zhPage.click('#cmd-form button');
      await expect.poll(() => zhPage.textContent('#log')).toContain('你没有任务。');
    } finally {
      await zhPage.close();
    }
  });

  it('replays only missed events to a reconnecting page (Last-Event-ID)', async () => {
    const sid = 'b'.repeat(32);
    // Deliveries are pushed as events; send two through the Deliverer directly.
    const ctx = {
      requestId: 'r',
      job: 'generate',
      user: `web-${sid}`,
      artifacts: stack.producer.artifacts,
      signal: new AbortController().signal,
    };
    await web.deliver({ platform: 'web', chatId: sid, userId: sid }, { text: 'first', images: [] }, ctx);
    await web.deliver({ platform: 'web', chatId: sid, userId: sid }, { text: 'second', images: [] }, ctx);
    const read = async (lastId?: string) => {
      const ac = new AbortController();
      const res = await fetch(`${web.address}api/events`, {
        headers: { cookie: `fc_sid=${sid}`, ...(lastId ? { 'last-event-id': lastId } : {}) },
        signal: ac.signal,
      });
      const reader = res.body!.getReader();
      const { value } = await reader.read();
      ac.abort();
      return new TextDecoder().decode(value);
    };
    const all = await read();
    expect(all).toMatch(/id: 1\ndata: .*"first"[\s\S]*id: 2\ndata: .*"second"/);
    const missed = await read('1');
    expect(missed).not.toContain('"first"');
    expect(missed).toContain('"second"');
  });
});
