/**
 * A result whose pictures the retention sweep deleted, through Telegram: real grammY against the
 * fake Bot API, the real command and job layers, and a test double of the GPU pipeline (it
 * stores a real image as the result). After the sweep, animate (button and /talk) and the delete
 * button answer that the pictures were deleted after the configured time, in the user's
 * language; nothing crashes and no internal file name is shown.
 */
import { readFileSync } from 'node:fs';
import { utimes } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelegramFrontend } from '../../bot/telegram/bot.ts';
import type { JobProcessor as ProcessorFn } from '../../queue/jobs/index.ts';
import { sweepFiles } from '../../queue/retention.ts';
import { until } from '../queue/helpers.ts';
import type { ApiCall, FakeTelegram, TgChat, TgUser } from './fake-telegram.ts';
import { type Stack, startTelegramRig, stopTelegramRig } from './harness.ts';

const png = readFileSync(new URL('../fixtures/faces/astronaut.png', import.meta.url));

/** The GPU pipeline's double: one stored picture per request. */
const pictureDouble: ProcessorFn = (async (ctx) => {
  const { ref } = await ctx.artifacts.put(ctx.data.user, png, { ext: 'png' });
  return { images: [ref], scores: [0.9] };
}) as ProcessorFn;

describe('a swept result on Telegram', () => {
  let fake: FakeTelegram;
  let stack: Stack;
  let tg: TelegramFrontend;
  const cy: TgUser = { id: 9393, is_bot: false, first_name: 'Cy', language_code: 'en' };
  const dm: TgChat = { id: 9393, type: 'private' };
  const cyId = `tg-${cy.id}`;

  beforeAll(async () => {
    ({ fake, stack, tg } = await startTelegramRig({ generate: { kind: 'inline', run: pictureDouble } }));
  });

  afterAll(() => stopTelegramRig({ fake, stack, tg }));

  const textOf = (c: ApiCall) => String(c.params.text ?? c.params.caption ?? '');
  async function send(update: Record<string, unknown>, want: RegExp): Promise<string> {
    const mark = fake.calls.length;
    fake.push(update);
    return textOf(await fake.waitFor(() => fake.calls.slice(mark).find((c) => want.test(textOf(c)))));
  }

  it('animate and delete explain that the pictures were deleted after 7 days', async () => {
    await send(fake.callback(cy, dm, 'consent:accept'), /Thank you/);
    const mark = fake.calls.length;
    const job = await stack.producer.enqueue(
      'generate',
      {
        user: cyId,
        target: { platform: 'telegram', chatId: String(dm.id), userId: String(cy.id) },
        mode: 'zero-shot',
        style: 'snow',
        count: 1,
      },
      { idempotencyKey: 'tg-ret-1' },
    );
    // Delivered with its buttons, before anything is swept.
    const delivered = await fake.waitFor(() =>
      fake.calls
        .slice(mark)
        .find((c) => c.method === 'sendPhoto' && /talk:animate:/.test(JSON.stringify(c.params.reply_markup))),
    );
    expect(JSON.stringify(delivered.params.reply_markup)).toContain(`portrait:delete:${job.id}`);
    const status = await stack.producer.status(job.id);
    if (!status) throw new Error('the finished job has no status');
    const [ref] = (status.result as { images: string[] }).images;

    // Eight days later (the file's age), the sweep deletes the result's picture.
    const old = new Date(Date.now() - 8 * 86_400_000);
    await utimes(path.join(stack.sys.artifactsDir, ref), old, old);
    await until(async () => (await stack.producer.status(job.id))?.state === 'completed');
    const swept = await sweepFiles(stack.producer, { keepFilesHours: 168 });
    expect(swept).toMatchObject({ deleted: 1, keptReferenced: 0 });
    expect(await stack.producer.artifacts.exists(ref)).toBe(false);

    const expired =
      "That result's pictures were deleted after 7 days, as this server keeps files; make a new one with /portrait.";
    // The animate button (Telegram asks for no words first now: the picture is gone).
    expect(await send(fake.callback(cy, dm, `talk:animate:${job.id}`), /were deleted after/)).toBe(expired);
    // /talk with words.
    const said = await send(
      fake.message(cy, dm, { text: `/talk ${job.id} hello there` }),
      /were deleted after/,
    );
    expect(said).toBe(expired);
    expect(said).not.toContain(cyId);
    // The delete button: nothing left to delete, and why.
    expect(await send(fake.callback(cy, dm, `portrait:delete:${job.id}`), /already deleted/)).toBe(
      "That result's pictures were already deleted after 7 days, as this server keeps files.",
    );
    // In Chinese when the platform says so.
    const zh = await send(
      fake.message({ ...cy, language_code: 'zh-hans' }, dm, { text: `/talk ${job.id} 你好` }),
      /后删除/,
    );
    expect(zh).toBe('该结果的图片已在 7 天后删除（本服务器只保留文件这么久）；请用 /portrait 重新生成。');
    // A result that never existed still gets the old answer.
    await send(
      fake.message(cy, dm, { text: '/talk tg-nope1 hello' }),
      /There is no finished result tg-nope1/,
    );
  }, 60_000);
});
