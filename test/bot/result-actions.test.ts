/**
 * A real result and what can be done with it, through Telegram: real grammY against the fake Bot
 * API, the real command and job layers, a worker running the real prepare-identity and template
 * jobs (face models, landmark fusion). An admin makes a template portrait in a group, sets the
 * group picture from it (refused for a non-admin, explained when the bot lacks the right), then
 * deletes it with the result's delete button.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiscordFrontend } from '../../bot/discord/bot.ts';
import type { TelegramFrontend } from '../../bot/telegram/bot.ts';
import { decodeImage } from '../../core/image/codec.ts';
import { target, until } from '../queue/helpers.ts';
import { CHANNEL_ID, type DcUser, type FakeDiscord, GUILD_ID, type RestCall } from './fake-discord.ts';
import type { ApiCall, FakeTelegram, TgChat, TgUser } from './fake-telegram.ts';
import { type Stack, startDiscordRig, startTelegramRig, stopDiscordRig, stopTelegramRig } from './harness.ts';

/** The one file a multipart call uploaded (grammY names the field at random, `attach://…`). */
const upload = (c: ApiCall) => Object.values(c.files)[0];
const face = (f: string) => new Uint8Array(readFileSync(new URL(`../fixtures/faces/${f}`, import.meta.url)));

describe('Telegram result actions on a real template result', () => {
  let fake: FakeTelegram;
  let stack: Stack;
  let tg: TelegramFrontend;
  const ann: TgUser = { id: 9191, is_bot: false, first_name: 'Ann', language_code: 'en' };
  const bea: TgUser = { id: 9292, is_bot: false, first_name: 'Bea', language_code: 'en' };
  const group: TgChat = { id: -100919, type: 'supergroup', title: 'Crew' };
  const annId = `tg-${ann.id}`;

  beforeAll(async () => {
    ({ fake, stack, tg } = await startTelegramRig());
  });

  afterAll(() => stopTelegramRig({ fake, stack, tg }));

  /** Push a message and wait for the bot's first text after it that matches. */
  async function say(from: TgUser, text: string, want: RegExp, ms?: number): Promise<ApiCall> {
    const mark = fake.calls.length;
    fake.push(fake.message(from, group, { text }));
    return fake.waitFor(
      () => fake.calls.slice(mark).find((c) => want.test(String(c.params.text ?? c.params.caption))),
      ms,
    );
  }

  it('template result with buttons → group picture (admin, bot right) → delete removes the file', async () => {
    // Ann's face, prepared by the real prepare-identity job.
    const photo = (await stack.producer.artifacts.put(annId, face('astronaut.png'), { ext: 'png' })).ref;
    await stack.producer.enqueue(
      'prepare-identity',
      { user: annId, target: target(annId), identityId: 'me', photos: [photo] },
      { idempotencyKey: `tg-ra-${Date.now()}` },
    );
    await until(
      async () => (await stack.producer.records.getIdentity(annId, 'me'))?.status === 'prepared',
      60_000,
    );

    fake.admins.add(ann.id);
    const m0 = fake.calls.length;
    fake.push(fake.callback(ann, group, 'consent:accept'));
    await fake.waitFor(() => fake.calls.slice(m0).find((c) => /Thank you/.test(String(c.params.text))));

    // Making pictures in the group waits for an administrator's opt-in.
    const mOn = fake.calls.length;
    fake.push(fake.message(ann, group, { text: '/group on' }));
    await fake.waitFor(() =>
      fake.calls.slice(mOn).find((c) => /Group features are on/.test(String(c.params.text))),
    );

    // /template with a real template photo; the fused result arrives in the group with buttons.
    const tplBytes = face('sample2.jpg');
    const tpl = await decodeImage(tplBytes);
    const file = fake.addFile(tplBytes);
    const m1 = fake.calls.length;
    fake.push(
      fake.message(ann, group, {
        caption: '/template',
        photo: [{ ...file, width: tpl.width, height: tpl.height }],
      }),
    );
    const delivered = await fake.waitFor(
      () =>
        fake.calls
          .slice(m1)
          .find(
            (c) =>
              c.method === 'sendPhoto' &&
              Number(c.params.chat_id) === group.id &&
              /portrait:delete:/.test(JSON.stringify(c.params.reply_markup)),
          ),
      60_000,
    );
    const markup = JSON.stringify(delivered.params.reply_markup);
    // A template result can be upscaled, animated, deleted, or made again with another of its faces.
    for (const b of ['portrait:upscale:', 'talk:animate:', 'portrait:delete:', 'template:face:'])
      expect(markup).toContain(b);
    expect(markup).not.toContain('portrait:reroll:');
    // Its likeness to Ann's face, and (the first time) what likeness means.
    expect(String(delivered.params.caption)).toMatch(/#1: likeness \d+%/);
    expect(String(delivered.params.caption)).toContain('Likeness says how close');
    const jobId = /portrait:delete:([^"]+)/.exec(markup)?.[1] ?? '';
    expect(jobId).not.toBe('');
    // Upscaling redraws with the generation model: on this CPU-only deployment the button says
    // so, and no job is queued.
    const mUp = fake.calls.length;
    fake.push(fake.callback(ann, group, `portrait:upscale:${jobId}`));
    await fake.waitFor(() =>
      fake.calls
        .slice(mUp)
        .find((c) => /Upscaling is not available on this deployment/.test(JSON.stringify(c.params))),
    );
    expect(
      (await stack.services.jobs.list({ platform: 'telegram', id: String(ann.id) })).map((j) => j.name),
    ).not.toContain('upscale');
    const status = await stack.producer.status(jobId);
    expect(status?.name).toBe('template');
    const ref = (status?.result as { images?: string[] } | undefined)?.images?.[0] ?? '';
    const stored = await stack.producer.artifacts.read(ref);
    // The delivered photo is the stored result (a real image), not a placeholder.
    expect(upload(delivered)?.size).toBe(stored.byteLength);

    // A non-admin is refused clearly; nothing is sent to Telegram's setChatPhoto.
    const before = fake.callsOf('setChatPhoto').length;
    const refused = await say(bea, `/group picture ${jobId}`, /Only group administrators/);
    expect(Number(refused.params.chat_id)).toBe(group.id);
    expect(fake.callsOf('setChatPhoto')).toHaveLength(before);

    // Without the bot's "Change group info" right: the admin is told so, and no success text.
    fake.botCanChangeInfo = false;
    const m2 = fake.calls.length;
    const noRight = await say(ann, `/group picture ${jobId}`, /could not set the group picture/);
    expect(String(noRight.params.text)).toContain('Change group info');
    expect(
      fake.calls.slice(m2).some((c) => /Group picture set from that result/.test(String(c.params.text))),
    ).toBe(false);

    // With the right: setChatPhoto carries the real result image, at the template's size.
    fake.botCanChangeInfo = true;
    const m3 = fake.calls.length;
    await say(ann, `/group picture ${jobId}`, /Group picture set from that result/);
    const set = fake.calls.slice(m3).find((c) => c.method === 'setChatPhoto');
    expect(set).toBeDefined();
    expect(Number(set?.params.chat_id)).toBe(group.id);
    const sent = set && upload(set);
    expect(sent?.bytes.byteLength).toBeGreaterThan(10_000);
    const img = await decodeImage(new Uint8Array(sent?.bytes ?? []));
    expect([img.width, img.height]).toEqual([tpl.width, tpl.height]);
    expect(Buffer.compare(sent?.bytes ?? Buffer.alloc(0), stored)).toBe(0);

    // Only the result's owner can use it: Bea made admin still cannot use Ann's result.
    fake.admins.add(bea.id);
    await say(bea, `/group picture ${jobId}`, /Give the id of one of your completed results/);
    fake.admins.delete(bea.id);

    // The delete button removes the result's file from storage.
    const onDisk = path.join(stack.sys.artifactsDir, ref); // refs are <user>/<sha256>.<ext>
    expect(existsSync(onDisk)).toBe(true);
    const m4 = fake.calls.length;
    fake.push(fake.callback(ann, group, `portrait:delete:${jobId}`));
    await fake.waitFor(() =>
      fake.calls.slice(m4).find((c) => /Deleted 1 image of that result/.test(String(c.params.text))),
    );
    expect(await stack.producer.artifacts.exists(ref)).toBe(false);
    expect(existsSync(onDisk)).toBe(false);

    // The deleted result can no longer be used: a clear answer, no internal file name, no upload.
    const m5 = fake.calls.length;
    const gone = await say(ann, `/group picture ${jobId}`, /Give the id of one of your completed results/);
    expect(String(gone.params.text)).not.toContain(annId);
    expect(fake.calls.slice(m5).some((c) => c.method === 'setChatPhoto')).toBe(false);
    // A second press of delete finds nothing left.
    const m6 = fake.calls.length;
    fake.push(fake.callback(ann, group, `portrait:delete:${jobId}`));
    await fake.waitFor(() =>
      fake.calls.slice(m6).find((c) => /That result is gone/.test(String(c.params.text))),
    );
  }, 120_000);
});

describe('Discord result actions on a real template result', () => {
  let fake: FakeDiscord;
  let stack: Stack;
  let dc: DiscordFrontend;
  const eve: DcUser = { id: '800000000000000091', username: 'eve' };
  const fay: DcUser = { id: '800000000000000092', username: 'fay' };
  const eveId = `dc-${eve.id}`;
  // VIEW_CHANNEL | SEND_MESSAGES | ATTACH_FILES: no Manage Server (and no Administrator).
  const noManage = String(0x400 | 0x800 | 0x8000);

  beforeAll(async () => {
    ({ fake, stack, dc } = await startDiscordRig());
  });

  afterAll(async () => {
    await stopDiscordRig({ fake, stack, dc });
  });

  const since = (n: number) => fake.calls.slice(n);
  const said = (calls: RestCall[], re: RegExp) => calls.find((c) => re.test(fake.contents([c])[0] ?? ''));
  const iconEdits = () => fake.calls.filter((c) => c.method === 'PATCH' && c.path === `/guilds/${GUILD_ID}`);
  async function picture(
    user: DcUser,
    id: string,
    want: RegExp,
    extra: { admin?: boolean; appPermissions?: string },
  ) {
    const mark = fake.calls.length;
    fake.slash(
      user,
      'group',
      [
        { name: 'action', type: 3, value: 'picture' },
        { name: 'arg', type: 3, value: id },
      ],
      extra,
    );
    return fake.waitFor(() => said(since(mark), want));
  }

  it('template result with buttons → server icon (admin, bot permission) → delete removes the file', async () => {
    const photo = (await stack.producer.artifacts.put(eveId, face('astronaut.png'), { ext: 'png' })).ref;
    await stack.producer.enqueue(
      'prepare-identity',
      {
        user: eveId,
        target: { platform: 'discord' as const, chatId: CHANNEL_ID, userId: eve.id },
        identityId: 'me',
        photos: [photo],
      },
      { idempotencyKey: `dc-ra-${Date.now()}` },
    );
    await until(
      async () => (await stack.producer.records.getIdentity(eveId, 'me'))?.status === 'prepared',
      60_000,
    );
    let mark = fake.calls.length;
    fake.button(eve, 'consent:accept');
    await fake.waitFor(() => said(since(mark), /Thank you/));

    const tplBytes = face('sample4.jpg');
    const tpl = await decodeImage(tplBytes);
    // Making pictures in the server waits for an administrator's opt-in.
    mark = fake.calls.length;
    fake.slash(eve, 'group', [{ name: 'action', type: 3, value: 'on' }], { admin: true });
    await fake.waitFor(() => said(since(mark), /Group features are on/));
    mark = fake.calls.length;
    const a = fake.addAttachment('team.jpg', tplBytes);
    fake.slash(eve, 'template', [{ name: 'photo', type: 11, value: a.id }], {
      attachments: [a],
      admin: true,
    });
    const delivered = await fake.waitFor(
      () => since(mark).find((c) => c.files.length > 0 && /portrait:delete:/.test(JSON.stringify(c.body))),
      60_000,
    );
    const body = JSON.stringify(delivered.body);
    for (const b of ['portrait:upscale:', 'talk:animate:', 'portrait:delete:']) expect(body).toContain(b);
    // Attachments carry no caption on Discord: the likeness is listed in the message.
    expect(fake.contents([delivered])[0]).toMatch(/1\. #1: likeness \d+%/);
    const jobId = /portrait:delete:([^"]+)/.exec(body)?.[1] ?? '';
    const ref =
      ((await stack.producer.status(jobId))?.result as { images?: string[] } | undefined)?.images?.[0] ?? '';
    expect(ref).not.toBe('');

    // A member without Manage Server is refused; the guild is not edited.
    const edits = iconEdits().length;
    await picture(fay, jobId, /Only group administrators/, {});
    // The bot lacks Manage Server: said so, no edit attempted.
    await picture(eve, jobId, /I need the "Manage Server" permission/, {
      admin: true,
      appPermissions: noManage,
    });
    // The bot's permission is there but Discord refuses the edit: a clear answer, not silence.
    fake.refuseGuildEdit = true;
    await picture(eve, jobId, /could not change the server icon/, { admin: true });
    fake.refuseGuildEdit = false;
    expect(iconEdits()).toHaveLength(edits + 1);

    // Admin with the bot's permission: the icon is the real result, as a data URI at its size.
    await picture(eve, jobId, /Group picture set from that result/, { admin: true });
    const edit = iconEdits().at(-1);
    const icon = String((edit?.body as { icon?: string } | undefined)?.icon ?? '');
    const m = /^data:image\/\w+;base64,(.+)$/.exec(icon);
    expect(m).not.toBeNull();
    const bytes = Buffer.from(m?.[1] ?? '', 'base64');
    const img = await decodeImage(new Uint8Array(bytes));
    expect([img.width, img.height]).toEqual([tpl.width, tpl.height]);
    expect(Buffer.compare(bytes, await stack.producer.artifacts.read(ref))).toBe(0);

    // Delete button: the stored file is gone.
    const onDisk = path.join(stack.sys.artifactsDir, ref);
    expect(existsSync(onDisk)).toBe(true);
    mark = fake.calls.length;
    fake.button(eve, `portrait:delete:${jobId}`);
    await fake.waitFor(() => said(since(mark), /Deleted 1 image of that result/));
    expect(existsSync(onDisk)).toBe(false);
    await picture(eve, jobId, /Give the id of one of your completed results/, { admin: true });
  }, 120_000);
});
