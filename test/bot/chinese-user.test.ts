/**
 * A Chinese user's whole conversation through Telegram (real grammY against the fake Bot API, the
 * real command and job layers, the real prepare-identity job): every text, caption and button the
 * bot shows is Chinese, errors included (option errors from zod's Chinese locale, refusals, "not
 * available", unknown commands). What may stay Latin is what the user typed or named: file names,
 * command names, option names, style ids and product names.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../core/image/codec.ts';
import { badgeStates } from '../identity/sheet-reader.ts';
import type { ApiCall, TgChat, TgUser } from './fake-telegram.ts';
import { startTelegramRig, stopTelegramRig, type TelegramRig } from './harness.ts';
import { english } from './no-english.ts';

const face = (f: string) => new Uint8Array(readFileSync(new URL(`../fixtures/faces/${f}`, import.meta.url)));

describe('a Chinese user sees no English', () => {
  let rig: TelegramRig;
  const mei: TgUser = { id: 8686, is_bot: false, first_name: '梅', language_code: 'zh-hans' };
  const dm: TgChat = { id: 8686, type: 'private', first_name: '梅' };

  beforeAll(async () => {
    rig = await startTelegramRig();
  });
  afterAll(() => stopTelegramRig(rig));

  /** Everything the bot showed in Mei's chat: texts, captions, button labels. */
  function shown(calls: ApiCall[]): string[] {
    const out: string[] = [];
    for (const c of calls) {
      if (String(c.params.chat_id) !== String(dm.id)) continue;
      for (const k of ['text', 'caption'] as const)
        if (typeof c.params[k] === 'string') out.push(c.params[k]);
      const markup = c.params.reply_markup as
        | { inline_keyboard?: Array<Array<{ text: string }>> }
        | undefined;
      for (const row of markup?.inline_keyboard ?? []) for (const b of row) out.push(b.text);
    }
    return out;
  }

  it('from /start through photos, report, status, styles, wrong options and refusals', async () => {
    const { fake } = rig;
    const said = (mark: number, re: RegExp, ms = 20_000) =>
      fake.waitFor(
        () => fake.calls.slice(mark).find((c) => re.test(String(c.params.text ?? c.params.caption ?? ''))),
        ms,
      );
    const send = async (text: string, re: RegExp) => {
      const mark = fake.calls.length;
      fake.push(fake.message(mei, dm, { text }));
      return said(mark, re);
    };
    const start = fake.calls.length;

    await send('/start', /你好/);
    // A photo before consent: the privacy text, in Chinese.
    let mark = fake.calls.length;
    const early = fake.addFile(face('astronaut.png'), 'png');
    fake.push(fake.message(mei, dm, { photo: [{ ...early, width: 512, height: 512 }] }));
    await said(mark, /隐私说明/);
    mark = fake.calls.length;
    fake.push(fake.callback(mei, dm, 'consent:accept'));
    await said(mark, /谢谢/);

    // Two photos: one usable, one group photo.
    mark = fake.calls.length;
    const p1 = fake.addFile(face('astronaut.png'), 'png');
    const p2 = fake.addFile(face('sample2.jpg'));
    fake.push(fake.message(mei, dm, { media_group_id: 'zh1', photo: [{ ...p1, width: 512, height: 512 }] }));
    fake.push(
      fake.message(mei, dm, {
        media_group_id: 'zh1',
        document: { ...p2, file_name: 'party.jpg', mime_type: 'image/jpeg' },
      }),
    );
    const report = await said(mark, /2 张照片中有 1 张可用/, 90_000);
    // The report's picture: its tick and cross match the report, and its words are Chinese.
    expect(badgeStates(await decodeImage(Object.values(report.files)[0]!.bytes), 2)).toEqual([
      'used',
      'not used',
    ]);
    // Progress named its stages in Chinese (which stages an edit catches depends on the machine's
    // speed: the stage names are checked, not which of them were shown).
    const stages = shown(fake.calls.slice(mark)).flatMap((t) =>
      [...t.matchAll(/正在准备你的形象：([^\s\d]+) \d+%/g)].map((m) => m[1]),
    );
    expect(stages.length).toBeGreaterThan(0);
    for (const stage of stages) expect(stage).toMatch(/^[\u4e00-\u9fff]+$/);

    await send('/status', /照片检查/);
    await send('/styles', /风格 1-5/);
    // Options the schema refuses: zod's Chinese messages, the option named by its description.
    const bad = await send('/portrait neon-night count=9', /参数无效/);
    expect(String(bad.params.text)).toMatch(/^参数无效：写真数量（1-6）（count）：数值过大：期望 数字 <=6$/);
    const rate = await send('/talk rate=fast 你好', /参数无效/);
    expect(String(rate.params.text)).toContain('请写成 +10% 或 -20% 这样的形式');
    await send('/portrait neon-night', /当前部署暂不提供此功能/);
    await send('/nosuchcommand', /未知命令/);
    mark = fake.calls.length;
    fake.push(fake.callback(mei, dm, 'portrait:info:tg-nope1'));
    await said(mark, /你没有已完成的写真/);
    await send('/settings', /语言/);
    await send('/cancel', /没有/);

    const texts = shown(fake.calls.slice(start));
    expect(texts.length).toBeGreaterThan(15);
    const leaks = texts.flatMap((t) => {
      const e = english(t);
      return e ? [`${e}  ←  ${t.slice(0, 120)}`] : [];
    });
    expect(leaks).toEqual([]);
  }, 150_000);
});
