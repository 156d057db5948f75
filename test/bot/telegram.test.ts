/**
 * Whole Telegram conversations through the real grammY library against a local fake Bot API,
 * with the real command layer and job layer (Redis, worker, real face models for the report).
 */
import { readFileSync } from 'node:fs';
import { Api } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TelegramFrontend } from '../../bot/telegram/bot.ts';
import { renderTelegram } from '../../bot/telegram/render.ts';
import { decodeImage } from '../../core/image/codec.ts';
import { badgeStates } from '../identity/sheet-reader.ts';
import { BOT_ID, FakeTelegram, type TgChat, type TgUser, TOKEN } from './fake-telegram.ts';
import { type Stack, startStack, startTelegramRig, stopTelegramRig } from './harness.ts';

const face = (f: string) => new Uint8Array(readFileSync(new URL(`../fixtures/faces/${f}`, import.meta.url)));

describe('Telegram front-end', () => {
  let fake: FakeTelegram;
  let stack: Stack;
  let tg: TelegramFrontend;
  const alice: TgUser = { id: 4242, is_bot: false, first_name: 'Alice', language_code: 'en' };
  const dm: TgChat = { id: 4242, type: 'private', first_name: 'Alice' };

  beforeAll(async () => {
    ({ fake, stack, tg } = await startTelegramRig());
  });

  afterAll(() => stopTelegramRig({ fake, stack, tg }));

  const callsSince = (n: number) => fake.calls.slice(n);
  const sentText = (calls: typeof fake.calls, re: RegExp) =>
    calls.find(
      (c) =>
        ['sendMessage', 'editMessageText', 'sendPhoto'].includes(c.method) &&
        re.test(String(c.params.text ?? c.params.caption)),
    );

  it('consent → album of photos → per-photo report → portrait → progress → clear "not available" delivery', async () => {
    const menus = fake.callsOf('setMyCommands');
    expect(menus).toHaveLength(2);
    expect(JSON.stringify(menus[1].params)).toContain('"language_code":"zh"');
    expect(JSON.stringify(menus[1].params)).toContain('生成指定风格的写真');
    let mark = fake.calls.length;
    fake.push(
      fake.message(alice, dm, { text: '/start', entities: [{ type: 'bot_command', offset: 0, length: 6 }] }),
    );
    await fake.waitFor(() => sentText(callsSince(mark), /FaceChain/));

    // A photo before consent: the consent text comes back and nothing is downloaded.
    mark = fake.calls.length;
    const early = fake.addFile(face('messi5.jpg'));
    fake.push(fake.message(alice, dm, { photo: [{ ...early, width: 200, height: 200 }] }));
    const prompt = await fake.waitFor(() => sentText(callsSince(mark), /Privacy notice/));
    expect(fake.callsOf('getFile')).toHaveLength(0);
    const keyboard = JSON.stringify(prompt.params.reply_markup);
    expect(keyboard).toContain('consent:accept');
    expect(keyboard).toContain('consent:revoke');

    mark = fake.calls.length;
    fake.push(fake.callback(alice, dm, 'consent:accept'));
    await fake.waitFor(() => sentText(callsSince(mark), /Thank you/));
    expect(fake.callsOf('answerCallbackQuery').length).toBeGreaterThan(0);

    // An album of two photos (one as a compressed photo, one as an image file) → one request.
    mark = fake.calls.length;
    const p1 = fake.addFile(face('astronaut.png'), 'png');
    const p2 = fake.addFile(face('sample2.jpg'));
    fake.push(
      fake.message(alice, dm, { media_group_id: 'alb1', photo: [{ ...p1, width: 512, height: 512 }] }),
    );
    fake.push(
      fake.message(alice, dm, {
        media_group_id: 'alb1',
        document: { ...p2, file_name: 'group.jpg', mime_type: 'image/jpeg' },
      }),
    );
    await fake.waitFor(() => sentText(callsSince(mark), /Got 2 photo/));
    // The per-photo report from the real prepare-identity job: one accepted, one rejected with a reason.
    const report = await fake.waitFor(() => sentText(callsSince(mark), /photos? can be used/), 90_000);
    const reportText = String(report.params.text ?? report.params.caption);
    // Named as the user sent them (a Telegram photo has no name: "photo 1"), with what to do, no ids.
    expect(reportText).toMatch(
      /^1 of 2 photos can be used for your portraits\.\nUsed: photo 1\.\nNot used:\n/,
    );
    expect(reportText).toMatch(/• group\.jpg shows 3 faces .* Send a photo of only you/);
    // Its picture is the contact sheet of both photos: a tick on the used one, a cross on the other.
    expect(report.method).toBe('sendPhoto');
    const sheet = await decodeImage(Object.values(report.files)[0]!.bytes);
    expect(badgeStates(sheet, 2)).toEqual(['used', 'not used']);
    expect(reportText).not.toMatch(/\bi-|photo-\d/);
    const jobs = await stack.services.jobs.list({ platform: 'telegram', id: '4242' });
    expect(jobs.filter((j) => j.name === 'prepare-identity')).toHaveLength(1);

    // Progress edits on the "Got 2 photos" message were throttled to one per 400 ms per chat.
    const edits = fake.callsOf('editMessageText').filter((c) => c.at >= fake.calls[mark].at);
    for (let i = 1; i < edits.length; i++) expect(edits[i].at - edits[i - 1].at).toBeGreaterThanOrEqual(350);

    // Status lists the job with its state; styles are browsed a page at a time.
    mark = fake.calls.length;
    fake.push(fake.message(alice, dm, { text: '/status' }));
    const st = await fake.waitFor(() => sentText(callsSince(mark), /Photo check/));
    expect(String(st.params.text)).toMatch(new RegExp(`Photo check \\(tg-${BOT_ID}-mgalb1\\) — done`));
    mark = fake.calls.length;
    fake.push(fake.message(alice, dm, { text: '/styles' }));
    const page1 = await fake.waitFor(() => sentText(callsSince(mark), /^Styles 1-5 of \d+:/));
    expect(JSON.stringify(page1.params.reply_markup)).toContain('styles:page:1');
    mark = fake.calls.length;
    fake.push(fake.callback(alice, dm, 'styles:page:1'));
    const page2 = await fake.waitFor(() => sentText(callsSince(mark), /^Styles 6-/));
    expect(JSON.stringify(page2.params.reply_markup)).toContain('styles:page:0');

    // Portrait request: no generation weights here → the user is told clearly, never a fake image.
    mark = fake.calls.length;
    const portraitUpdate = fake.message(alice, dm, { text: '/portrait count=2' });
    const updateId = fake.push(portraitUpdate);
    const outcome = await fake.waitFor(
      () => sentText(callsSince(mark), /not available on this deployment/),
      30_000,
    );
    expect(String(outcome.params.text)).toMatch(/^Portrait generation is not available on this deployment\./);
    expect(fake.callsOf('sendPhoto').filter((c) => c.at >= fake.calls[mark].at)).toHaveLength(0);

    // The same update re-sent: no second job and no second answer.
    const before = (await stack.services.jobs.list({ platform: 'telegram', id: '4242' })).length;
    const sendsBefore = fake.callsOf('sendMessage').length;
    fake.resend(updateId, portraitUpdate);
    fake.push(fake.message(alice, dm, { text: '/help' }));
    await fake.waitFor(() => sentText(fake.calls.slice(-3), /Good photos/));
    expect((await stack.services.jobs.list({ platform: 'telegram', id: '4242' })).length).toBe(before);
    expect(fake.callsOf('sendMessage').length).toBe(sendsBefore + 1);
  }, 150_000);

  it('a pose image with /portrait where no worker generates: clear refusal, nothing downloaded', async () => {
    const mark = fake.calls.length;
    const pose = fake.addFile(face('messi5.jpg'));
    fake.push(
      fake.message(alice, dm, { caption: '/portrait', photo: [{ ...pose, width: 200, height: 200 }] }),
    );
    const answer = await fake.waitFor(() => sentText(callsSince(mark), /Pose-guided portraits/), 30_000);
    expect(String(answer.params.text)).toMatch(/not available on this deployment.*without an image/);
    expect(callsSince(mark).filter((c) => c.method === 'getFile')).toHaveLength(0);
  }, 60_000);

  it('honours 429 retry_after from the Bot API', async () => {
    fake.failNext('sendMessage', 429, 1);
    const mark = fake.calls.length;
    fake.push(fake.message(alice, dm, { text: '/help' }));
    const ok = await fake.waitFor(() => {
      const sends = callsSince(mark).filter((c) => c.method === 'sendMessage');
      return sends.length >= 2 ? sends : undefined;
    });
    // First attempt refused with retry_after 1 s; the retry came no earlier than that.
    expect(ok[1].at - ok[0].at).toBeGreaterThanOrEqual(950);
    expect(String(ok[1].params.text)).toContain('Good photos');
  });

  it('a file over the 20 MB getFile limit is reported clearly and nothing is downloaded', async () => {
    const mark = fake.calls.length;
    const big = { file_id: 'huge', file_unique_id: 'uhuge', file_size: 25 * 1024 * 1024 };
    fake.push(
      fake.message(alice, dm, { document: { ...big, file_name: 'big.jpg', mime_type: 'image/jpeg' } }),
    );
    const msg = await fake.waitFor(() => sentText(callsSince(mark), /MB/));
    expect(String(msg.params.text)).toMatch(/25\.0 MB.*20\.0 MB/);
    expect(callsSince(mark).filter((c) => c.method === 'getFile')).toHaveLength(0);
  });

  it('group theme: a non-admin is refused, an admin sets it, a joining member is invited', async () => {
    const group: TgChat = { id: -100777, type: 'supergroup', title: 'Friends' };
    const bob: TgUser = { id: 5151, is_bot: false, first_name: 'Bob', language_code: 'zh-hans' };
    let mark = fake.calls.length;
    fake.push(fake.message(bob, group, { text: '/group style anything' }));
    const refusal = await fake.waitFor(() => sentText(callsSince(mark), /管理员/));
    expect(String(refusal.params.text)).toBe('只有群管理员可以修改群主题或群头像。');
    expect(await stack.services.groups.get({ platform: 'telegram', id: '-100777', kind: 'group' })).toEqual({
      members: [],
    });

    // An admin (per getChatMember) sets the theme.
    fake.admins.add(alice.id);
    mark = fake.calls.length;
    fake.push(fake.message(alice, group, { text: '/group style neon-night' }));
    await fake.waitFor(() => sentText(callsSince(mark), /Group theme set to "neon-night"/));
    expect(callsSince(mark).some((c) => c.method === 'getChatMember')).toBe(true);
    expect(
      (await stack.services.groups.get({ platform: 'telegram', id: '-100777', kind: 'group' })).theme,
    ).toBe('neon-night');

    // Face photos are refused in groups (privacy), before anything is downloaded.
    mark = fake.calls.length;
    const groupPhoto = fake.addFile(face('messi5.jpg'));
    fake.push(
      fake.message(alice, group, { caption: '/train', photo: [{ ...groupPhoto, width: 200, height: 200 }] }),
    );
    await fake.waitFor(() => sentText(callsSince(mark), /private chat/));
    expect(callsSince(mark).filter((c) => c.method === 'getFile')).toHaveLength(0);

    // Language from /settings wins over the platform's.
    mark = fake.calls.length;
    fake.push(fake.message(bob, group, { text: '/settings language=en' }));
    await fake.waitFor(() => sentText(callsSince(mark), /^Settings saved\.$/));
    mark = fake.calls.length;
    fake.push(fake.message(bob, group, { text: '/group style neon-night' }));
    await fake.waitFor(() => sentText(callsSince(mark), /Only group administrators/));

    // Group photo: members opt in; an admin without a template photo is asked for one
    // (the composition itself: test/pipelines/group-photo.test.ts).
    mark = fake.calls.length;
    fake.push(fake.message(alice, group, { text: '/group join' }));
    fake.push(fake.message(bob, group, { text: '/group join' }));
    fake.push(fake.message(alice, group, { text: '/group photo' }));
    await fake.waitFor(() => sentText(callsSince(mark), /Send the group template photo with \/group photo/));
    expect(
      (await stack.services.groups.get({ platform: 'telegram', id: '-100777', kind: 'group' })).members,
    ).toEqual(['tg-4242', 'tg-5151']);
    await stack.services.groups.optIn(
      { platform: 'telegram', id: '-100777', kind: 'group' },
      { platform: 'telegram', id: '5151' },
      false,
    );

    // A joining member who never started the bot (private messages refused) is invited in the group.
    const carol: TgUser = { id: 6161, is_bot: false, first_name: 'Carol' };
    fake.unreachable.add(carol.id);
    mark = fake.calls.length;
    fake.push(fake.message(alice, group, { new_chat_members: [carol] }));
    const invite = await fake.waitFor(() =>
      callsSince(mark).find((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === -100777),
    );
    expect(String(invite.params.text)).toContain('Welcome, Carol');
    expect(String(invite.params.text)).toContain('neon-night');

    // The same through a chat_member update (what Telegram sends when the bot is an administrator).
    const dave = { id: 7171, is_bot: false, first_name: 'Dave' };
    mark = fake.calls.length;
    fake.push({
      chat_member: {
        chat: group,
        from: dave,
        date: 0,
        old_chat_member: { status: 'left', user: dave },
        new_chat_member: { status: 'member', user: dave },
      },
    });
    const dm = await fake.waitFor(() =>
      callsSince(mark).find((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === 7171),
    );
    expect(String(dm.params.text)).toContain('Welcome, Dave');
    // Telegram also posts the join as a service message: no second invitation.
    fake.push(fake.message(dave as TgUser, group, { new_chat_members: [dave] }));
    fake.push(fake.message(alice, group, { text: '/help' }));
    await fake.waitFor(() => sentText(callsSince(mark), /Good photos/));
    expect(callsSince(mark).filter((c) => /Welcome, Dave/.test(String(c.params.text)))).toHaveLength(1);
  });

  it('revoking consent forgets the user: jobs, files and records are gone, with a receipt', async () => {
    const user = 'tg-4242';
    expect((await stack.producer.records.userKeys(user)).length).toBeGreaterThan(0);
    expect((await stack.producer.artifacts.listUser(user)).length).toBeGreaterThan(0);
    await stack.services.groups.optIn(
      { platform: 'telegram', id: '-100777', kind: 'group' },
      { platform: 'telegram', id: '4242' },
      true,
    );
    const mark = fake.calls.length;
    fake.push(fake.callback(alice, dm, 'consent:revoke'));
    const receipt = await fake.waitFor(() => sentText(callsSince(mark), /Consent revoked/), 30_000);
    expect(String(receipt.params.text)).toMatch(/Deleted: .*\d+ jobs.*\d+ files/);
    expect(await stack.producer.records.userKeys(user)).toEqual([]);
    expect(await stack.producer.artifacts.listUser(user)).toEqual([]);
    expect(
      (await stack.services.groups.get({ platform: 'telegram', id: '-100777', kind: 'group' })).members,
    ).toEqual([]);
    // And photos are refused again until consent is given anew.
    const m2 = fake.calls.length;
    fake.push(fake.message(alice, dm, { text: '/portrait' }));
    await fake.waitFor(() => sentText(callsSince(m2), /Please read and accept/));
  }, 60_000);
});

describe('Telegram webhook mode', () => {
  it('registers the webhook with a secret and refuses updates without it', async () => {
    const fake = await new FakeTelegram().start();
    const stack = await startStack();
    const tg = new TelegramFrontend({
      token: TOKEN,
      apiRoot: fake.url,
      services: stack.services,
      webhook: { url: 'https://bot.example.org/tg', secret: 'hook-secret-123', port: 0, host: '127.0.0.1' },
    });
    try {
      await tg.start();
      const set = fake.callsOf('setWebhook')[0];
      expect(set.params).toMatchObject({
        url: 'https://bot.example.org/tg',
        secret_token: 'hook-secret-123',
      });
      const hook = `http://127.0.0.1:${tg.webhookPort}/`;
      const update = {
        update_id: 1,
        ...fake.message(
          { id: 99, is_bot: false, first_name: 'W' },
          { id: 99, type: 'private' },
          { text: '/help' },
        ),
      };
      const bad = await fetch(hook, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'wrong' },
        body: JSON.stringify(update),
      });
      expect(bad.status).toBe(401);
      const ok = await fetch(hook, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'hook-secret-123' },
        body: JSON.stringify(update),
      });
      expect(ok.status).toBe(200);
      await fake.waitFor(() =>
        fake.callsOf('sendMessage').find((c) => String(c.params.text).includes('Good photos')),
      );
      expect(fake.callsOf('sendMessage')).toHaveLength(1);
      expect(fake.callsOf('getUpdates')).toHaveLength(0);
    } finally {
      await tg.stop();
      await stack.close();
      await fake.stop();
    }
  });
});

describe('Telegram rendering', () => {
  it('sends several results as one album plus a message with the buttons, and videos with sendVideo', async () => {
    const fake = await new FakeTelegram().start();
    try {
      const api = new Api(TOKEN, { apiRoot: fake.url });
      const bytes = face('messi5.jpg');
      const images = [1, 2, 3].map((n) => ({ name: `r${n}.jpg`, bytes }));
      await renderTelegram(
        api,
        { chatId: 7 },
        { text: 'Here are 3', images, buttons: [[{ id: 'portrait:reroll:x', label: 'Reroll' }]] },
        async () => bytes,
      );
      const album = fake.callsOf('sendMediaGroup');
      expect(album).toHaveLength(1);
      expect(Object.keys(album[0].files)).toHaveLength(3);
      const text = fake.callsOf('sendMessage')[0];
      expect(text.params.text).toBe('Here are 3');
      expect(JSON.stringify(text.params.reply_markup)).toContain('portrait:reroll:x');

      await renderTelegram(
        api,
        { chatId: 7 },
        { text: 'Talking', images: [], video: { ref: 'v' } },
        async () => bytes,
      );
      const video = fake.callsOf('sendVideo');
      expect(video).toHaveLength(1);
      expect(video[0].params.caption).toBe('Talking');
      expect(Object.values(video[0].files)[0].size).toBe(bytes.byteLength);

      // A text over Telegram's 4096 characters: several messages, nothing cut, buttons under the last.
      const long = Array.from(
        { length: 60 },
        (_, i) => `• photo-${i}.jpg: ${'the face is too small; '.repeat(4)}`,
      );
      const before = fake.callsOf('sendMessage').length;
      await renderTelegram(
        api,
        { chatId: 7, replyTo: 3 },
        { text: long.join('\n'), images: [], buttons: [[{ id: 'portrait:reroll:y', label: 'Reroll' }]] },
        async () => bytes,
      );
      const sent = fake.callsOf('sendMessage').slice(before);
      expect(sent.length).toBeGreaterThan(1);
      expect(sent.every((c) => String(c.params.text).length <= 4096)).toBe(true);
      expect(sent.map((c) => c.params.text).join('\n')).toBe(long.join('\n'));
      expect(JSON.stringify(sent.at(-1)?.params.reply_markup)).toContain('portrait:reroll:y');
      expect(sent.slice(0, -1).every((c) => c.params.reply_markup === undefined)).toBe(true);
      expect(sent[0].params.reply_parameters).toBeDefined();
    } finally {
      await fake.stop();
    }
  });
});

describe('Telegram with a LoRA trainer configured', () => {
  it('after the photo report, training starts once for the prepared identity and its result is delivered', async () => {
    const fake = await new FakeTelegram().start();
    const stack = await startStack();
    const tg = new TelegramFrontend({
      token: TOKEN,
      apiRoot: fake.url,
      services: stack.services,
      progressPollMs: 50,
    });
    const trained: string[] = [];
    try {
      // Test double for the GPU trainer process only: it records the identity and returns a file.
      await stack.startWorker(
        { telegram: tg },
        {
          'train-lora': {
            kind: 'inline',
            run: async (ctx) => {
              const data = ctx.data as { identityId: string; user: string };
              trained.push(data.identityId);
              const { ref } = await ctx.artifacts.put(data.user, new Uint8Array([1, 2, 3]), {
                ext: 'bin',
              });
              return { identityId: data.identityId, lora: ref } as never;
            },
          },
        },
      );
      await tg.start();
      const user: TgUser = { id: 3131, is_bot: false, first_name: 'Tia', language_code: 'en' };
      const chat: TgChat = { id: 3131, type: 'private' };
      fake.push(fake.callback(user, chat, 'consent:accept'));
      await fake.waitFor(() => fake.texts().some((t) => t.startsWith('Thank you')));
      const photo = fake.addFile(face('astronaut.png'), 'png');
      fake.push(fake.message(user, chat, { photo: [{ ...photo, width: 512, height: 512 }] }));
      await fake.waitFor(() => fake.texts().find((t) => /photos? can be used/.test(t)), 90_000);
      const done = await fake.waitFor(
        () => fake.texts().find((t) => /face model is trained/.test(t)),
        30_000,
      );
      expect(done).toBe('Your personal face model is trained. /portrait now uses it.');
      expect(trained).toHaveLength(1);
      const jobs = await stack.services.jobs.list({ platform: 'telegram', id: '3131' });
      expect(jobs.filter((j) => j.name === 'train-lora')).toHaveLength(1);
      expect(jobs.find((j) => j.name === 'train-lora')!.id).toMatch(new RegExp(`^tg-${BOT_ID}-u\\d+-lora$`));
    } finally {
      await tg.stop();
      await stack.close();
      await fake.stop();
    }
  }, 150_000);
});
