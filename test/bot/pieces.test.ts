/** The small parts of the front-ends: text parsing, buttons, catalogs, throttling, albums, limits. */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InputError, NotAvailableError } from '../../base/errors.ts';
import { en } from '../../base/i18n/en.ts';
import { messageParams, resolveLocale, translate } from '../../base/i18n/index.ts';
import { userErrorText } from '../../base/i18n/user-error.ts';
import { zhCN } from '../../base/i18n/zh-CN.ts';
import { addResultButtons } from '../../bot/delivery.ts';
import { commandDefinitions } from '../../bot/discord/definitions.ts';
import { fitImage } from '../../bot/discord/fit.ts';
import { toPayloads } from '../../bot/discord/render.ts';
import { producerServices } from '../../bot/services.ts';
import { splitText } from '../../bot/split-text.ts';
import { AlbumCollector } from '../../bot/telegram/album.ts';
import { EditThrottle } from '../../bot/throttle.ts';
import { COMMANDS, findCommand } from '../../commands/index.ts';
import { buttonId, parseButtonId } from '../../commands/kit/buttons.ts';
import { dispatch } from '../../commands/kit/dispatch.ts';
import { parseTextCommand } from '../../commands/kit/parse-text.ts';
import { howLongKept, privacyVersion } from '../../commands/kit/privacy.ts';
import { RateLimiter } from '../../commands/kit/rate-limit.ts';
import { decodeImage } from '../../core/image/codec.ts';
import { Producer } from '../../queue/producer.ts';
import { testOptions } from '../queue/helpers.ts';

describe('text commands', () => {
  it('parses positional and key=value options, bot mentions and the rest of a line', () => {
    expect(parseTextCommand('/portrait@facechain_bot neon-night 3 seed=7')).toEqual({
      command: 'portrait',
      options: { style: 'neon-night', count: '3', seed: '7' },
    });
    expect(parseTextCommand('/talk tg-u1 hello there, world')).toEqual({
      command: 'talk',
      options: { result: 'tg-u1', text: 'hello there, world' },
    });
    expect(parseTextCommand('hello')).toBeUndefined();
  });
});

describe('buttons', () => {
  it("round-trips ids and refuses ids over Telegram's 64 bytes", () => {
    expect(parseButtonId(buttonId('portrait', 'reroll', 'tg-123'))).toEqual({
      command: 'portrait',
      options: { action: 'reroll', arg: 'tg-123' },
    });
    expect(() => buttonId('portrait', 'reroll', 'x'.repeat(60))).toThrow(/too long/);
  });
});

describe('catalogs', () => {
  it('zh-CN has every key with the same parameters as English', () => {
    const params = (s: string) => [...new Set(messageParams(s))].sort();
    for (const k of Object.keys(en) as Array<keyof typeof en>)
      expect(params(zhCN[k]), k).toEqual(params(en[k]));
  });
  it('chooses plural forms with Intl.PluralRules, and no English message says "(s)"', () => {
    expect(translate('en', 'train.queued', { count: 1 })).toMatch(/^Got 1 photo\. /);
    expect(translate('en', 'train.queued', { count: 3 })).toMatch(/^Got 3 photos\. /);
    expect(translate('en', 'reply.generated', { count: 1 })).toBe('Here is your portrait.');
    expect(translate('en', 'reply.report_summary', { accepted: 1, total: 1 })).toBe(
      '1 of 1 photo can be used for your portraits.',
    );
    expect(translate('zh-CN', 'train.queued', { count: 1 })).toContain('1 张照片');
    for (const [k, v] of Object.entries(en)) expect(v, k).not.toContain('(s)');
  });
  it('resolves platform locales and interpolates', () => {
    expect(resolveLocale(undefined, 'zh-hans')).toBe('zh-CN');
    expect(resolveLocale('en', 'zh-CN')).toBe('en');
    expect(resolveLocale('fr')).toBe('en');
    expect(translate('zh-CN', 'train.too_many', { count: 25 })).toBe('你发送了 25 张照片，上限为 20 张。');
  });
  it('every command has a description and is found by name and alias', () => {
    for (const c of COMMANDS) expect(translate('en', c.description)).not.toBe('');
    expect(findCommand('photos')?.name).toBe('train');
  });
  it('Discord definitions respect Discord limits (25 options, 100-char descriptions)', () => {
    for (const d of commandDefinitions()) {
      expect((d.options as unknown[]).length).toBeLessThanOrEqual(25);
      expect(String(d.description).length).toBeLessThanOrEqual(100);
      expect(d.name).toMatch(/^[a-z]{1,32}$/);
    }
  });
});

describe('edit throttle', () => {
  it('sends at most one edit per interval per chat and always sends the latest', async () => {
    const th = new EditThrottle(200);
    const sent: Array<{ text: string; at: number }> = [];
    const edit = (text: string) => () => {
      sent.push({ text, at: Date.now() });
      return Promise.resolve();
    };
    for (let i = 0; i < 10; i++) {
      await th.run('c1', edit(`p${i}`));
      await new Promise((r) => setTimeout(r, 30));
    }
    await th.drain();
    expect(sent[0].text).toBe('p0');
    expect(sent[sent.length - 1].text).toBe('p9');
    expect(sent.length).toBeLessThanOrEqual(3);
    for (let i = 1; i < sent.length; i++) expect(sent[i].at - sent[i - 1].at).toBeGreaterThanOrEqual(190);
  });
});

describe('album collector', () => {
  it('hands over a media group once no item arrived for the quiet time', async () => {
    const got: Array<[string, number[]]> = [];
    const c = new AlbumCollector<number>(80, (g, items) => got.push([g, items]));
    c.add('a', 1);
    c.add('b', 9);
    await new Promise((r) => setTimeout(r, 40));
    c.add('a', 2);
    await new Promise((r) => setTimeout(r, 150));
    expect(got).toEqual([
      ['b', [9]],
      ['a', [1, 2]],
    ]);
  });
});

describe('rate limiter', () => {
  it('allows a burst, then asks to wait, then refills', () => {
    let now = 0;
    const rl = new RateLimiter(2, 60, () => now);
    expect(rl.take('u')).toBe(0);
    expect(rl.take('u')).toBe(0);
    expect(rl.take('u')).toBe(1);
    expect(rl.take('other')).toBe(0);
    now += 1000;
    expect(rl.take('u')).toBe(0);
  });
});

describe('upload fitting', () => {
  it('re-encodes and shrinks an image until it fits the limit', async () => {
    const png = new Uint8Array(readFileSync(new URL('../fixtures/faces/astronaut.png', import.meta.url)));
    const fitted = await fitImage(png, 60_000);
    expect(fitted).toBeDefined();
    expect(fitted!.byteLength).toBeLessThanOrEqual(60_000);
    expect((await decodeImage(fitted!)).format).toBe('jpeg');
    expect(await fitImage(png, png.byteLength)).toBe(png);
  });
});

describe('delivered results', () => {
  const t = (k: string, p?: Record<string, string | number>) => translate('zh-CN', k, p);
  const out = { text: 'done', images: [{ name: 'a.jpg', ref: 'tg-1/x.jpg' }] };
  it("portraits get the result buttons in the user's language; reports and errors do not", () => {
    const withButtons = addResultButtons(out, 'generate', 'tg-55', t);
    const ids = withButtons.buttons!.flat().map((b) => b.id);
    expect(ids).toEqual([
      'portrait:reroll:tg-55',
      'portrait:vary:tg-55',
      'portrait:vary-strong:tg-55',
      'portrait:upscale:tg-55',
      'talk:animate:tg-55',
      'tryon:ask:tg-55',
      'portrait:info:tg-55',
      'portrait:delete:tg-55',
    ]);
    // The strength of a variation is on its button.
    expect(withButtons.buttons![0][1].label).toBe('变体：轻微（25%）');
    expect(withButtons.buttons![0][2].label).toBe('变体：明显（60%）');
    expect(withButtons.buttons![0][0].label).toBe('重新生成');
    expect(addResultButtons(out, 'prepare-identity', 'tg-55', t).buttons).toBeUndefined();
    expect(addResultButtons({ ...out, isError: true }, 'generate', 'tg-55', t).buttons).toBeUndefined();
    expect(addResultButtons({ ...out, images: [] }, 'generate', 'tg-55', t).buttons).toBeUndefined();
  });
});

describe('Discord payloads', () => {
  it('fits images under the upload limit and names a video that cannot fit', async () => {
    const png = new Uint8Array(readFileSync(new URL('../fixtures/faces/astronaut.png', import.meta.url)));
    const [p, ...more] = await toPayloads(
      {
        text: 'Here',
        images: [{ name: 'big.png', bytes: png }],
        video: { ref: 'v' },
        buttons: [[{ id: 'portrait:reroll:x', label: 'Reroll' }]],
      },
      async () => new Uint8Array(200_000),
      80_000,
    );
    expect(p.files).toHaveLength(1);
    expect(p.files[0].name).toBe('big.jpg');
    expect(p.files[0].attachment.byteLength).toBeLessThanOrEqual(80_000);
    expect(more).toHaveLength(0);
    expect(p.content).toBe('Here\nThe video is 0.2 MB, over the 0.1 MB upload limit here.');
    expect(p.components[0].toJSON().components[0]).toMatchObject({
      custom_id: 'portrait:reroll:x',
      label: 'Reroll',
    });
  });

  it('sends a text over 2000 characters as several messages: files on the first, buttons under the last', async () => {
    const png = new Uint8Array(readFileSync(new URL('../fixtures/faces/astronaut.png', import.meta.url)));
    const lines = Array.from(
      { length: 30 },
      (_, i) => `• photo-${i}.jpg: ${'the face is too small; '.repeat(4)}`,
    );
    const text = lines.join('\n');
    const payloads = await toPayloads(
      {
        text,
        images: [{ name: 'crop.png', bytes: png }],
        buttons: [[{ id: 'portrait:reroll:x', label: 'Reroll' }]],
      },
      async () => new Uint8Array(0),
    );
    expect(payloads.length).toBeGreaterThan(1);
    for (const p of payloads) expect(p.content.length).toBeLessThanOrEqual(2000);
    // Nothing cut: the messages put back together are the text, line for line.
    expect(payloads.map((p) => p.content).join('\n')).toBe(text);
    expect(payloads[0].files).toHaveLength(1);
    expect(payloads.slice(1).every((p) => p.files.length === 0)).toBe(true);
    expect(payloads.at(-1)?.components).toHaveLength(1);
    expect(payloads.slice(0, -1).every((p) => p.components.length === 0)).toBe(true);
  });

  it("says what did not fit in the user's language", async () => {
    const [p] = await toPayloads(
      { text: '完成', images: [], video: { ref: 'v' }, locale: 'zh-CN' },
      async () => new Uint8Array(200_000),
      80_000,
    );
    expect(p.content).toBe('完成\n视频大小为 0.2 MB，超过了这里 0.1 MB 的上传上限。');
  });
});

describe('privacy notice', () => {
  it('states how long files are kept, and a different setting is a different version to consent to', () => {
    const en = (key: string, params?: Record<string, string | number>) => translate('en', key, params);
    const zh = (key: string, params?: Record<string, string | number>) => translate('zh-CN', key, params);
    expect(howLongKept(en, 168)).toContain('deleted automatically 7 days after they were stored');
    expect(howLongKept(en, 36)).toContain('36 hours');
    expect(howLongKept(en, 24)).toContain('deleted automatically 1 day after');
    expect(howLongKept(en, 0)).toMatch(/^until you delete them/);
    expect(howLongKept(zh, 168)).toContain('保存 7 天后自动删除');
    expect(privacyVersion(168)).not.toBe(privacyVersion(0));
    expect(privacyVersion(168)).not.toBe(privacyVersion(24));
    const text = translate('en', 'consent.text', {
      version: privacyVersion(168),
      how_long: howLongKept(en, 168),
    });
    expect(text).toContain(
      '• How long: the photos you send and your results are deleted automatically 7 days',
    );
    expect(text).not.toContain('{');
  });
});

describe('splitting long texts', () => {
  it('keeps a short text whole and splits between lines, then words, then inside a word', () => {
    expect(splitText('short', 10)).toEqual(['short']);
    expect(splitText('aaaa\nbbbb\ncccc', 9)).toEqual(['aaaa\nbbbb', 'cccc']);
    expect(splitText('one two three four', 9)).toEqual(['one two', 'three', 'four']);
    expect(splitText('x'.repeat(25), 10)).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
    const parts = splitText(Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n'), 50);
    expect(parts.every((p) => p.length <= 50)).toBe(true);
    expect(parts.join('\n')).toBe(Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n'));
  });
});

describe('errors from outside the command layer, in the user language', () => {
  it('translates limits, quota and availability by code; keeps English specifics and already translated text', () => {
    const quota = new InputError(
      'daily_quota',
      "You have used today's 5 request(s). The quota resets at 00:00 UTC.",
      {
        context: { limit: 5 },
      },
    );
    expect(userErrorText(quota, 'en')).toBe(quota.message);
    expect(userErrorText(quota, 'zh-CN')).toBe('你今天的 5 次请求已用完。额度在 UTC 时间 00:00 重置。');
    const pending = new InputError('too_many_pending', 'x', { context: { limit: 3 } });
    expect(userErrorText(pending, 'zh-CN')).toContain('你已有 3 个请求正在处理');
    const na = new NotAvailableError('Portrait generation', 'No worker that runs it is connected.');
    expect(userErrorText(na, 'en')).toBe(na.message);
    expect(userErrorText(na, 'zh-CN')).toBe('当前部署暂不提供此功能。');
    // A command's own error with the same code was translated when thrown (no context): kept.
    const own = new InputError('file_too_big', '照片“a.jpg”太大。');
    expect(userErrorText(own, 'zh-CN')).toBe('照片“a.jpg”太大。');
    // A code with no catalog entry keeps its text.
    expect(userErrorText(new InputError('something_else', 'Specific.'), 'zh-CN')).toBe('Specific.');
  });
});

describe('Redis unreachable', () => {
  it('a command is answered with a clear "try again" instead of an internal error', async () => {
    const producer = new Producer(testOptions({ redisUrl: 'redis://127.0.0.1:1' }));
    try {
      const services = producerServices(producer);
      const ask = (id: string, platformLocale?: string) =>
        dispatch(
          {
            id,
            platform: 'web',
            user: { platform: 'web', id: 'a'.repeat(32) },
            chat: { platform: 'web', id: 'a'.repeat(32), kind: 'private' },
            command: 'help',
            options: {},
            attachments: [],
            replyTarget: { platform: 'web', chatId: 'x', userId: 'x' },
            isChatAdmin: async () => false,
            platformLocale,
          },
          services,
        ).catch((e: Error) => ({ text: `threw: ${e.message}` }));
      const reply = await ask('u1');
      expect(reply?.text).toBe('The service is busy or unreachable right now. Please try again in a minute.');
      // In the platform's language when the profile cannot be read.
      expect((await ask('u2', 'zh-hans'))?.text).toBe('服务繁忙或暂时无法连接，请一分钟后再试。');
    } finally {
      producer.redis.disconnect();
    }
  }, 30_000);
});
