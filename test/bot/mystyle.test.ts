/**
 * Uploaded style LoRAs end to end on Telegram: a .safetensors document through the real grammY
 * front-end, command layer, user-style store and job layer (only the Bot API is faked). The
 * owner's /portrait enqueues generate with the style; the generate job's plan includes it for
 * the owner and refuses it for anyone else; a corrupt file is refused with the reason.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordFrontend } from '../../bot/discord/bot.ts';
import { producerServices } from '../../bot/services.ts';
import { TelegramFrontend } from '../../bot/telegram/bot.ts';
import { LoraLibrary } from '../../core/lora/library.ts';
import { encodeSafetensors, type TensorToWrite } from '../../core/lora/safetensors.ts';
import { sd15UnetLayers } from '../../core/lora/sd15.ts';
import { planUserStyle, UserStyleStore } from '../../core/lora/user-styles.ts';
import { loadStylePack } from '../../core/styles/catalog.ts';
import { planGeneration } from '../../core/styles/plan.ts';
import { buildUnetFixture, makeLoraFile } from '../../models/fixtures/lora-fixtures.ts';
import { userIdFor } from '../../queue/ids.ts';
import { Producer } from '../../queue/producer.ts';
import { APP_ID, TOKEN as DC_TOKEN, type DcUser, FakeDiscord, GUILD_ID } from './fake-discord.ts';
import { FakeTelegram, type TgChat, type TgUser, TOKEN } from './fake-telegram.ts';
import { type Stack, startStack } from './harness.ts';

/** A small kohya LoRA over real SD 1.5 attention layers (shapes are what validation checks). */
function sd15Lora(): Uint8Array {
  const t: Record<string, TensorToWrite> = {};
  for (const l of sd15UnetLayers('attention').slice(0, 8)) {
    const base = `lora_unet_${l.module.replace(/\./g, '_')}`;
    t[`${base}.lora_down.weight`] = {
      dtype: 'F16',
      shape: [4, l.inFeatures],
      data: new Float32Array(4 * l.inFeatures),
    };
    t[`${base}.lora_up.weight`] = {
      dtype: 'F16',
      shape: [l.outFeatures, 4],
      data: new Float32Array(4 * l.outFeatures),
    };
    t[`${base}.alpha`] = { dtype: 'F32', shape: [], data: new Float32Array([4]) };
  }
  return encodeSafetensors(t);
}

describe('uploaded style LoRA via Telegram', () => {
  let fake: FakeTelegram;
  let stack: Stack;
  let tg: TelegramFrontend;
  let root: string;
  let producer: Producer;
  let store: UserStyleStore;
  const alice: TgUser = { id: 5151, is_bot: false, first_name: 'Alice', language_code: 'en' };
  const bob: TgUser = { id: 5252, is_bot: false, first_name: 'Bob', language_code: 'en' };
  const dmA: TgChat = { id: 5151, type: 'private', first_name: 'Alice' };
  const dmB: TgChat = { id: 5252, type: 'private', first_name: 'Bob' };

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'fc-mystyle-'));
    store = new UserStyleStore(path.join(root, 'user-styles'), {
      maxBytes: 4 << 20,
      maxPerUser: 3,
      maxRank: 64,
    });
    fake = await new FakeTelegram().start();
    stack = await startStack({ styles: async () => [{ id: 'snow', name: 'Snow' }] });
    // No worker runs here: jobs are only enqueued (the generate step is exercised below).
    producer = new Producer({ ...stack.sys, requireWorker: false });
    const services = producerServices(producer, {
      styles: async () => [{ id: 'snow', name: 'Snow' }],
      userStyles: store,
    });
    tg = new TelegramFrontend({
      token: TOKEN,
      apiRoot: fake.url,
      services,
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
    await rm(root, { recursive: true, force: true });
  });

  const text = (c: { params: Record<string, unknown> }) => String(c.params.text ?? c.params.caption);
  const reply = async (mark: number, re: RegExp) =>
    fake.waitFor(() =>
      fake.calls
        .slice(mark)
        .find((c) => ['sendMessage', 'editMessageText'].includes(c.method) && re.test(text(c))),
    );
  const say = async (user: TgUser, chat: TgChat, extra: Record<string, unknown>, re: RegExp) => {
    const mark = fake.calls.length;
    fake.push(fake.message(user, chat, extra));
    return reply(mark, re);
  };
  const doc = (bytes: Uint8Array, file_name: string) => {
    const f = fake.addFile(bytes, 'safetensors');
    return { document: { ...f, file_name, mime_type: 'application/octet-stream' } };
  };
  const cmd = (t: string) => ({
    text: t,
    entities: [{ type: 'bot_command', offset: 0, length: t.split(' ')[0].length }],
  });

  it('consent first; upload → listed → owner plans with it, another user is refused; corrupt file refused', async () => {
    // Before consent nothing is downloaded.
    const gets = fake.callsOf('getFile').length;
    await say(alice, dmA, doc(sd15Lora(), 'ink.safetensors'), /Privacy notice/);
    expect(fake.callsOf('getFile')).toHaveLength(gets);
    for (const [u, c] of [
      [alice, dmA],
      [bob, dmB],
    ] as const) {
      const mark = fake.calls.length;
      fake.push(fake.callback(u, c, 'consent:accept'));
      await reply(mark, /Thank you/);
    }

    // A file sent in private with no caption is an upload.
    const stored = await say(alice, dmA, doc(sd15Lora(), 'ink.safetensors'), /Stored your style/);
    const id = /\((u-[0-9a-f]{12})\)/.exec(text(stored))![1];
    expect(text(stored)).toContain('"ink"');
    expect(JSON.stringify(stored.params.reply_markup)).toContain(`portrait:style:${id}`);

    const listed = await say(alice, dmA, cmd('/mystyle'), /Your uploaded styles \(1\)/);
    expect(text(listed)).toContain(id);
    await say(bob, dmB, cmd('/mystyle'), /You have not uploaded any style/);

    // Corrupt, wrong type and wrong base are refused with the reason; nothing is stored.
    const junk = new Uint8Array(64).fill(7);
    const bad = await say(
      alice,
      dmA,
      { ...doc(junk, 'broken.safetensors'), caption: '/mystyle' },
      /not stored/,
    );
    expect(text(bad)).toMatch(/"broken\.safetensors" was not stored: .*(safetensors|header)/i);
    await say(alice, dmA, { ...doc(junk, 'notes.txt'), caption: '/mystyle' }, /is not a \.safetensors file/);
    const tiny = makeLoraFile('kohya', buildUnetFixture().layers, { seed: 1 }).bytes;
    await say(alice, dmA, doc(tiny, 'tiny.safetensors'), /"tiny\.safetensors" was not stored: .*SD 1\.5/);
    expect((await store.list(userIdFor('telegram', String(alice.id)))).map((s) => s.id)).toEqual([id]);

    // Bob asking for Alice's style is refused before anything is enqueued.
    const refused = await say(
      bob,
      dmB,
      cmd(`/portrait ${id}`),
      /can be used only by the person who uploaded/,
    );
    expect(text(refused)).toContain(id);

    // Alice's /portrait with her style enqueues generate on the default pack with her style.
    const aliceId = userIdFor('telegram', String(alice.id));
    await producer.records.putIdentity(aliceId, {
      id: 'idA',
      status: 'prepared',
      crops: [],
      updatedAt: Date.now(),
    });
    await say(alice, dmA, cmd('/portrait ink 1'), /Making 1 portrait in style "ink"/);
    const jobs = await producer.listUserJobs(aliceId);
    const gen = jobs.find((j) => j.name === 'generate');
    expect(gen).toBeDefined();
    const job = await producer.findJob(gen!.id);
    expect(job?.data).toMatchObject({ style: 'snow', userStyle: id, identityId: 'idA' });

    // The generate job's plan step (same lookup as core/portrait/generate.ts): owner → the
    // style's LoRA is merged on top of the pack's; anyone else → "no uploaded style".
    const dir = path.join(root, 'snow');
    await mkdir(dir);
    await writeFile(path.join(dir, 'snow.safetensors'), tiny);
    await writeFile(
      path.join(dir, 'style.json'),
      JSON.stringify({
        id: 'snow',
        name: { en: 'Snow' },
        base: 'sd15-film',
        loras: [{ file: 'snow.safetensors', multiplier: 0.4 }],
        prompt: 'snowy forest',
        licence: { spdx: 'Apache-2.0' },
      }),
    );
    const r = await loadStylePack(dir, { maxLoraBytes: 1 << 24 });
    if (!('pack' in r)) throw new Error(r.problem.message);
    const library = new LoraLibrary(64 << 20, { maxBytes: 16 << 20 });
    const plan = await planGeneration({ kind: 'fact', gender: 'female', ageBand: 'adult' }, r.pack, {
      library,
      defaultAdapterScale: 0.5,
      userStyle: await planUserStyle(store, String(job?.data.user), id),
    });
    expect(plan.loras.map((u) => [u.lora.name.split(':')[0], u.multiplier])).toEqual([
      ['style', 0.4],
      ['user-style', 0.8],
    ]);
    await expect(planUserStyle(store, userIdFor('telegram', String(bob.id)), id)).rejects.toMatchObject({
      code: 'unknown_user_style',
    });

    // Delete through the list's button.
    const mark = fake.calls.length;
    fake.push(fake.callback(alice, dmA, `mystyle:delete:${id}`));
    await reply(mark, new RegExp(`Deleted your style ${id}`));
    expect(await store.list(aliceId)).toEqual([]);
  });
});

describe('uploaded style LoRA via Discord', () => {
  let fake: FakeDiscord;
  let stack: Stack;
  let dc: DiscordFrontend;
  let root: string;
  let store: UserStyleStore;
  const eve: DcUser = { id: '800000000000000077', username: 'eve' };

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'fc-mystyle-dc-'));
    store = new UserStyleStore(root, { maxBytes: 4 << 20, maxPerUser: 3, maxRank: 64 });
    fake = await new FakeDiscord().start();
    stack = await startStack();
    dc = new DiscordFrontend({
      token: DC_TOKEN,
      applicationId: APP_ID,
      guildId: GUILD_ID,
      apiRoot: fake.api,
      services: producerServices(stack.producer, { userStyles: store }),
      editIntervalMs: 300,
      progressPollMs: 50,
    });
    await dc.start();
  });

  afterAll(async () => {
    await dc?.stop();
    await stack?.close();
    await fake?.stop();
    await rm(root, { recursive: true, force: true });
  });

  const said = async (mark: number, re: RegExp) =>
    fake.waitFor(() => fake.calls.slice(mark).find((c) => re.test(fake.contents([c])[0] ?? '')));

  it('the lora attachment option uploads; the list shows it; a bad file is refused with the reason', async () => {
    let mark = fake.calls.length;
    fake.button(eve, 'consent:accept');
    await said(mark, /Thank you/);

    mark = fake.calls.length;
    const a = fake.addAttachment('watercolour.safetensors', sd15Lora(), 'application/octet-stream');
    fake.slash(eve, 'mystyle', [{ name: 'lora', type: 11, value: a.id }], { attachments: [a] });
    const stored = await said(mark, /Stored your style "watercolour"/);
    const id = /\((u-[0-9a-f]{12})\)/.exec(fake.contents([stored])[0]!)![1]!;

    mark = fake.calls.length;
    fake.slash(eve, 'mystyle', [{ name: 'action', type: 3, value: 'list' }]);
    await said(mark, new RegExp(`Your uploaded styles \\(1\\):[\\s\\S]*${id}`));

    mark = fake.calls.length;
    const bad = fake.addAttachment('bad.safetensors', new Uint8Array(40).fill(1), 'application/octet-stream');
    fake.slash(eve, 'mystyle', [{ name: 'lora', type: 11, value: bad.id }], { attachments: [bad] });
    await said(mark, /"bad\.safetensors" was not stored: /);
    expect((await store.list(userIdFor('discord', eve.id))).map((s) => s.id)).toEqual([id]);
  });
});
