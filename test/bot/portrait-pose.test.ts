/**
 * /portrait with a pose image through the real grammY front-end, command layer and job layer
 * (only the Bot API is faked): consent first, the image is checked, stored as the user's upload
 * and its ref (never bytes) rides on the generate job as `pose`; a non-image is refused.
 * The generate step itself with a pose is tested in test/pipelines/generate-pose.test.ts.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { producerServices } from '../../bot/services.ts';
import { TelegramFrontend } from '../../bot/telegram/bot.ts';
import { userIdFor } from '../../queue/ids.ts';
import { Producer } from '../../queue/producer.ts';
import { FakeTelegram, type TgChat, type TgUser, TOKEN } from './fake-telegram.ts';
import { type Stack, startStack } from './harness.ts';

const face = (f: string) => new Uint8Array(readFileSync(new URL(`../fixtures/faces/${f}`, import.meta.url)));

describe('/portrait with a pose image via Telegram', () => {
  let fake: FakeTelegram;
  let stack: Stack;
  let tg: TelegramFrontend;
  let producer: Producer;
  const alice: TgUser = { id: 6161, is_bot: false, first_name: 'Alice', language_code: 'en' };
  const dm: TgChat = { id: 6161, type: 'private', first_name: 'Alice' };
  const styles = async () => [{ id: 'snow', name: 'Snow' }];

  beforeAll(async () => {
    fake = await new FakeTelegram().start();
    stack = await startStack({ styles });
    // As if a generating worker were up: the command then accepts the pose and enqueues.
    producer = new Producer({ ...stack.sys, requireWorker: false });
    tg = new TelegramFrontend({
      token: TOKEN,
      apiRoot: fake.url,
      services: producerServices(producer, { styles }),
      editIntervalMs: 400,
      albumWaitMs: 150,
      progressPollMs: 50,
      maxRetryDelaySeconds: 5,
    });
    await tg.start();
  });

  afterAll(async () => {
    await tg?.stop();
    await producer?.close();
    await stack?.close();
    await fake?.stop();
  });

  const text = (c: { params: Record<string, unknown> }) => String(c.params.text ?? c.params.caption);
  const say = async (extra: Record<string, unknown>, re: RegExp) => {
    const mark = fake.calls.length;
    fake.push(fake.message(alice, dm, extra));
    return fake.waitFor(() =>
      fake.calls
        .slice(mark)
        .find((c) => ['sendMessage', 'editMessageText'].includes(c.method) && re.test(text(c))),
    );
  };

  it('consent first; the pose is stored and its ref is on the generate job; a non-image is refused', async () => {
    const pose = face('messi5.jpg');
    const photo = () => [{ ...fake.addFile(pose), width: 200, height: 200 }];
    const gets = fake.callsOf('getFile').length;
    await say({ caption: '/portrait count=1', photo: photo() }, /Privacy notice/);
    expect(fake.callsOf('getFile')).toHaveLength(gets);
    const mark = fake.calls.length;
    fake.push(fake.callback(alice, dm, 'consent:accept'));
    await fake.waitFor(() => fake.calls.slice(mark).find((c) => /Thank you/.test(text(c))));

    const user = userIdFor('telegram', String(alice.id));
    await producer.records.putIdentity(user, {
      id: 'idP',
      status: 'prepared',
      crops: [],
      updatedAt: Date.now(),
    });
    await say({ caption: '/portrait count=1', photo: photo() }, /Making 1 portrait in style "Snow"/);
    const gen = (await producer.listUserJobs(user)).find((j) => j.name === 'generate');
    const job = await producer.findJob(gen!.id);
    expect(job?.data).toMatchObject({ style: 'snow', identityId: 'idP', count: 1 });
    const ref = String((job!.data as { pose?: string }).pose);
    expect(new Uint8Array(await producer.artifacts.read(ref))).toEqual(pose);

    // A file that is not an image: refused with the reason, nothing more enqueued.
    const before = (await producer.listUserJobs(user)).length;
    const f = fake.addFile(new TextEncoder().encode('just text'), 'txt');
    await say(
      { caption: '/portrait count=1', document: { ...f, file_name: 'pose.txt', mime_type: 'text/plain' } },
      /pose\.txt/,
    );
    expect((await producer.listUserJobs(user)).length).toBe(before);
  }, 60_000);
});
