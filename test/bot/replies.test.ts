/**
 * Delivered job replies in the user's language: the per-photo report names photos as the user
 * sent them and says what to do about each one not used (never internal names or ids); errors
 * are translated by code; template results get the result buttons. The integration part runs
 * the real prepare-identity job and the real delivery rendering (bot/delivery.ts); only the
 * chat platform is a double (a Deliverer that records what a front-end would send).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { en } from '../../base/i18n/en.ts';
import { translate } from '../../base/i18n/index.ts';
import { zhCN } from '../../base/i18n/zh-CN.ts';
import type { Outgoing } from '../../bot/adapter.ts';
import { addResultButtons, deliveryOutgoing, errorText, localizedText } from '../../bot/delivery.ts';
import { photoLabel } from '../../commands/kit/attachments.ts';
import { dispatch } from '../../commands/kit/dispatch.ts';
import { privacyVersion } from '../../commands/kit/privacy.ts';
import { describeProgress } from '../../commands/kit/progress-text.ts';
import type { Invocation } from '../../commands/kit/types.ts';
import { describeJob } from '../../commands/status.ts';
import { REJECT_TEMPLATES } from '../../core/identity/reasons.ts';
import { deliveryPayload, readDelivery } from '../../queue/delivery/entry.ts';
import { JOBS, parseJobData } from '../../queue/jobs/index.ts';
import type { Deliverer, Reply, ReplyTarget } from '../../queue/reply.ts';
import { until } from '../queue/helpers.ts';
import { type Stack, startStack } from './harness.ts';

const face = (f: string) => readFileSync(new URL(`../fixtures/faces/${f}`, import.meta.url));
const zh = (k: string, p?: Record<string, string | number>) => translate('zh-CN', k, p);
const enT = (k: string, p?: Record<string, string | number>) => translate('en', k, p);
const att = (name: string, generatedName?: true) => ({
  name,
  generatedName,
  fetch: async () => new Uint8Array(),
});

describe('photo names in the report', () => {
  it('keeps the name the user sent, without folders, control characters or links', () => {
    expect(photoLabel(att('IMG_0042.JPG'), 1, enT)).toBe('IMG_0042.JPG');
    expect(photoLabel(att('C:\\Users\\me\\holiday.jpg'), 1, enT)).toBe('holiday.jpg');
    expect(photoLabel(att('../../etc/me\u0007.png'), 1, enT)).toBe('me.png');
    expect(photoLabel(att('https://x.example/a.jpg'), 2, enT)).toBe('a.jpg');
    expect(photoLabel(att('data:me.jpg'), 2, enT)).toBe('me.jpg');
    const long = photoLabel(att(`${'a'.repeat(150)}.jpg`), 1, enT);
    expect(long.length).toBeLessThanOrEqual(100);
    expect(long.endsWith('.jpg')).toBe(true);
  });

  it('names a photo the platform gave no name "photo N" in the user language', () => {
    expect(photoLabel(att('photo-991.jpg', true), 3, enT)).toBe('photo 3');
    expect(photoLabel(att('photo-991.jpg', true), 3, zh)).toBe('第 3 张照片');
    expect(photoLabel(att('/'), 4, enT)).toBe('photo 4');
  });

  it('job data accepts the labels (payload guard included) and refuses folders', () => {
    const base = {
      user: 'tg-1',
      target: { platform: 'telegram', chatId: '1', userId: '1' },
      identityId: 'x',
    };
    const photos = ['tg-1/' + 'a'.repeat(64) + '.jpg'];
    const names = [photoLabel(att('我的照片 (1).jpg'), 1, enT)];
    expect(parseJobData('prepare-identity', { ...base, photos, names }).names).toEqual(['我的照片 (1).jpg']);
    expect(() => parseJobData('prepare-identity', { ...base, photos, names: ['a/b.jpg'] })).toThrow(/names/);
  });
});

describe('replies as translatable lines', () => {
  const report = JOBS['prepare-identity'].reply(
    {
      identityId: 'i-tg-777',
      accepted: ['tg-1/' + 'a'.repeat(64) + '.png'],
      acceptedNames: ['me.jpg'],
      rejected: [
        {
          photo: 'tg-1/' + 'b'.repeat(64) + '.jpg',
          code: 'several_faces',
          message: 'party.jpg shows 3 faces …',
          name: 'party.jpg',
          params: { faces: 3 },
        },
        {
          photo: 'tg-1/' + 'c'.repeat(64) + '.jpg',
          code: 'corrupt_image',
          message: 'broken.jpg: The image file is damaged.',
          name: 'broken.jpg',
          params: { message: 'The image file is damaged.' },
        },
      ],
      report: 'tg-1/' + 'd'.repeat(64) + '.json',
    },
    {} as never,
  );

  it('the per-photo report in English and Chinese: names, reasons with what to do, no ids', () => {
    expect(report.text).toBe(
      [
        '1 of 3 photos can be used for your portraits.',
        'Used: me.jpg.',
        'Not used:',
        `• ${REJECT_TEMPLATES.several_faces.replace('{name}', 'party.jpg').replace('{faces}', '3')}`,
        '• broken.jpg: The image file is damaged.',
      ].join('\n'),
    );
    const text = localizedText(report, 'zh-CN');
    expect(text.split('\n')[0]).toBe('3 张照片中有 1 张可用于生成你的写真。');
    expect(text).toContain('已采用：me.jpg。');
    expect(text).toContain('• party.jpg 中有 3 张脸，且没有一张明显占主导。请发送只有你一个人的照片');
    expect(text).toContain('• broken.jpg：这张图片无法使用（The image file is damaged.）');
    expect(`${report.text}${text}`).not.toMatch(/i-tg|photo-\d/);
  });

  it('every reason code of the report has a Chinese entry with the same parameters', () => {
    for (const code of Object.keys(REJECT_TEMPLATES)) {
      const key = `reject.${code}` as keyof typeof en;
      expect(en[key], code).toBe(REJECT_TEMPLATES[code as keyof typeof REJECT_TEMPLATES]);
      expect(zhCN[key], code).toMatch(/[\u4e00-\u9fff]/);
    }
  });

  it('other results: template likeness, training, portraits', () => {
    const img = (c: string) => `tg-1/${c.repeat(64)}.png`;
    const tpl = JOBS.template.reply(
      { images: [img('a')], scores: [0.8712], faceIndex: 1, faceCount: 3 },
      {} as never,
    );
    // The likeness rides as a number (captioned by the front-end), the faces for the face buttons.
    expect(tpl.text).toBe('Here is your portrait in the template (face 2 of 3).');
    expect(tpl.likeness).toEqual([0.8712]);
    expect(tpl.faces).toEqual({ count: 3, chosen: 1 });
    expect(localizedText(tpl, 'zh-CN')).toBe('这是放进模板后的你（第 2 张脸，共 3 张）。');
    const trained = JOBS['train-lora'].reply(
      { identityId: 'i-tg-5', lora: 'tg-1/x.safetensors' },
      {} as never,
    );
    expect(trained.text).not.toContain('i-tg-5');
    expect(localizedText(trained, 'zh-CN')).toBe(zh('reply.trained'));
    const gen = JOBS.generate.reply({ images: [img('a'), img('b')], scores: [] }, {} as never);
    expect(localizedText(gen, 'zh-CN')).toBe('这是你的 2 张写真，按相似度从高到低排列。');
    expect(gen.likeness).toBeUndefined();
    // Best likeness first whatever order the job listed them in; flags follow their picture.
    const ranked = JOBS.generate.reply(
      { images: [img('a'), img('b'), img('c')], scores: [0.5, 0.9, 0.7], flagged: [1] },
      {} as never,
    );
    expect(ranked.images).toEqual([img('b'), img('c'), img('a')]);
    expect(ranked.likeness).toEqual([0.9, 0.7, 0.5]);
    expect(ranked.spoilers).toEqual([0]);
    expect(ranked.text).toBe('Here are your 3 portraits, best likeness first.');
  });

  it('a report of 20 photos with long names still fits the deliver payload', () => {
    const ref = (c: string) => `tg-1/${c.repeat(64)}.jpg`;
    const long = (i: number) =>
      `${String(i).padStart(2, '0')}-${'Holiday photo '.repeat(7)}.jpg`.slice(0, 100);
    const r = JOBS['prepare-identity'].reply(
      {
        identityId: 'x',
        accepted: Array.from({ length: 10 }, () => ref('a')),
        acceptedNames: Array.from({ length: 10 }, (_, i) => long(i)),
        rejected: Array.from({ length: 10 }, (_, i) => ({
          photo: ref('b'),
          code: 'no_face',
          message: '…',
          name: long(10 + i),
        })),
        report: ref('c'),
      },
      {} as never,
    );
    const entry = deliveryPayload({
      user: 'tg-1',
      target: { platform: 'telegram', chatId: '1', userId: '1' },
      requestId: 'j',
      source: { queue: 'cpu', id: 'j', name: 'prepare-identity' },
      reply: r,
    });
    const data = readDelivery(JSON.stringify(entry.data));
    expect(localizedText(data.reply, 'zh-CN')).toContain(long(19));
  });

  it('a reply with a key this version does not know keeps its English text', () => {
    const r: Reply = { text: 'Hello', images: [], message: [{ key: 'reply.from_the_future', params: {} }] };
    expect(localizedText(r, 'zh-CN')).toBe('Hello');
  });
});

describe('errors by code', () => {
  it('translates codes with a catalog entry; English keeps specific job messages', () => {
    expect(errorText({ code: 'cancelled', message: 'The job was cancelled.' }, 'zh-CN')).toBe('任务已取消。');
    const noId = { code: 'no_identity', message: 'There is no prepared face "i-tg-9" for you yet.' };
    expect(errorText(noId, 'en')).toBe(en['joberror.no_identity']);
    expect(errorText(noId, 'zh-CN')).toBe(zhCN['joberror.no_identity']);
    const photos = {
      code: 'no_usable_photos',
      message: 'None of the photos can be used. party.jpg shows 3 faces.',
    };
    expect(errorText(photos, 'en')).toBe(photos.message);
    expect(errorText(photos, 'zh-CN')).toBe(zhCN['joberror.no_usable_photos']);
    // The worker's apology for internal failures comes under many codes, one text: it names it.
    const apology = { code: 'redis_down', message: en['joberror.internal'], key: 'joberror.internal' };
    expect(errorText(apology, 'zh-CN')).toBe('我们这边出了点问题，请稍后再试。');
    // Matched by its key, never by its English words.
    expect(errorText({ code: 'redis_down', message: en['joberror.internal'] }, 'zh-CN')).toBe(
      en['joberror.internal'],
    );
    // No catalog entry: the job's own message.
    expect(errorText({ code: 'trainer_timeout', message: 'Took too long.' }, 'zh-CN')).toBe('Took too long.');
  });

  it('progress lines and /status lines of a failed job use the same translation', () => {
    const error = {
      code: 'no_usable_photos',
      message: 'None of the photos can be used. party.jpg shows 3 faces.',
    };
    const failed = { id: 'tg-5', name: 'prepare-identity', state: 'failed' as const, error };
    expect(describeProgress(zh, '照片检查', failed, 'zh-CN')).toBe(
      `照片检查：${zhCN['joberror.no_usable_photos']}`,
    );
    expect(describeProgress(enT, 'Photo check', failed, 'en')).toBe(`Photo check: ${error.message}`);
    expect(describeJob({ t: zh, locale: 'zh-CN' }, failed)).toBe(
      `照片检查 (tg-5) —— 失败: ${zhCN['joberror.no_usable_photos']}`,
    );
  });

  it("a waiting job says its place in line and the time left, in the user's language", () => {
    const waiting = { id: 'tg-6', name: 'generate', state: 'waiting' as const, position: 3, etaSeconds: 150 };
    expect(describeProgress(enT, 'Portraits', waiting, 'en')).toBe(
      'Portraits: waiting, number 3 in line, about 3 minutes left',
    );
    expect(describeProgress(zh, '写真', waiting, 'zh-CN')).toBe(
      `${zhCN['progress.waiting'].replace('{label}', '写真').replace('{position}', '3')}，约剩 3 分钟`,
    );
    // Without a known place or estimate: no number and no time is made up.
    const unknown = { id: 'tg-7', name: 'generate', state: 'waiting' as const };
    expect(describeProgress(enT, 'Portraits', unknown, 'en')).toBe('Portraits: waiting in line');
    const soon = { ...waiting, position: 1, etaSeconds: 40 };
    expect(describeProgress(enT, 'Portraits', soon, 'en')).toBe(
      'Portraits: waiting, number 1 in line, about 40 seconds left',
    );
  });

  it('template results get the result buttons', () => {
    const out: Outgoing = { text: 'x', images: [{ name: 'a.jpg', ref: 'tg-1/x.jpg' }] };
    expect(
      addResultButtons(out, 'template', 'tg-9', zh)
        .buttons?.flat()
        .map((b) => b.id),
    ).toEqual(['portrait:upscale:tg-9', 'talk:animate:tg-9', 'portrait:delete:tg-9']);
  });
});

describe('delivered through the real job and delivery path', () => {
  let stack: Stack;
  const outs: Array<{ target: ReplyTarget; out: Outgoing }> = [];
  beforeAll(async () => {
    stack = await startStack();
    // The chat platform double: renders like every front-end does (deliveryOutgoing), then records.
    const platform: Deliverer = {
      async deliver(target, reply, ctx) {
        outs.push({ target, out: await deliveryOutgoing(stack.services, target, reply, ctx) });
      },
    };
    await stack.startWorker({ telegram: platform });
  }, 60_000);
  afterAll(() => stack?.close());

  async function send(user: string, photos: Array<[string, string]>, lang?: string) {
    const refs = [];
    for (const [file] of photos)
      refs.push((await stack.producer.artifacts.put(user, face(file), { ext: file.split('.').pop()! })).ref);
    const target = {
      platform: 'telegram' as const,
      chatId: user.slice(3),
      userId: user.slice(3),
      ...(lang ? { extra: { lang } } : {}),
    };
    const before = outs.length;
    await stack.producer.enqueue(
      'prepare-identity',
      { user, target, identityId: `i-${user}`, photos: refs, names: photos.map(([, n]) => n) },
      { idempotencyKey: `${user}-${Date.now()}` },
    );
    await until(() => outs.length > before, 120_000);
    return outs[before].out;
  }

  it('a Chinese user reads the report in Chinese, with their own file names', async () => {
    await stack.services.profiles.update({ platform: 'telegram', id: '88001' }, { locale: 'zh-CN' });
    const out = await send('tg-88001', [
      ['astronaut.png', '我.png'],
      ['sample2.jpg', 'party.jpg'],
      ['astronaut.png', 'me again.png'],
    ]);
    expect(out.isError).toBeFalsy();
    expect(out.text.split('\n')[0]).toBe('3 张照片中有 1 张可用于生成你的写真。');
    expect(out.text).toContain('已采用：我.png。');
    expect(out.text).toMatch(/• party\.jpg 中有 3 张脸/);
    expect(out.text).toContain('• me again.png 与 我.png 几乎是同一张照片。');
    expect(out.text).not.toMatch(/photo-\d|i-tg/);
  }, 150_000);

  it('no usable photo: the error names the photo in English, and is translated for a zh platform locale', async () => {
    const enOut = await send('tg-88002', [['sample2.jpg', 'party.jpg']]);
    expect(enOut.isError).toBe(true);
    expect(enOut.text).toMatch(/^None of the photos can be used\. party\.jpg shows 3 faces/);
    expect(enOut.text).not.toMatch(/photo-\d/);
    const zhOut = await send('tg-88003', [['sample2.jpg', 'party.jpg']], 'zh-CN');
    expect(zhOut.text).toBe(zhCN['joberror.no_usable_photos']);
  }, 150_000);
  it('/status shows where the face stands, in Chinese; the platform language rides with the reply target', async () => {
    const inv = (id: string): Invocation => ({
      id,
      platform: 'telegram',
      user: { platform: 'telegram', id: '88004' },
      chat: { platform: 'telegram', id: '88004', kind: 'private' },
      command: 'status',
      options: {},
      attachments: [],
      platformLocale: 'zh-hans',
      replyTarget: { platform: 'telegram', chatId: '88004', userId: '88004' },
      isChatAdmin: async () => false,
    });
    await send('tg-88004', [['astronaut.png', 'me.png']]);
    const first = inv(`st-${Date.now()}`);
    expect((await dispatch(first, stack.services))?.text.split('\n')[0]).toBe(
      '你的脸（1 张照片）：可以生成写真',
    );
    expect(first.replyTarget.extra?.lang).toBe('zh-CN');
    const records = stack.producer.records;
    const identity = (await records.getIdentity('tg-88004', 'i-tg-88004'))!;
    await records.putIdentity('tg-88004', { ...identity, status: 'training' });
    expect((await dispatch(inv(`st2-${Date.now()}`), stack.services))?.text).toContain(
      '你的脸（1 张照片）：可以生成写真；个人模型训练中',
    );
    // While its LoRA trains, the face still makes zero-shot portraits (not "still being checked").
    await stack.services.profiles.setConsent(first.user, { version: privacyVersion(), at: Date.now() });
    const portrait = await dispatch({ ...inv(`pt-${Date.now()}`), command: 'portrait' }, stack.services);
    expect(portrait?.text).not.toBe(zhCN['portrait.identity_busy']);
    expect(portrait?.text).not.toBe(zhCN['portrait.no_identity']);
  }, 150_000);
});
