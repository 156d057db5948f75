/**
 * What an operator allows, through Telegram (real grammY, fake Bot API, real command and job
 * layers): banned users and chats are refused before any work (no download, no job, not even the
 * update's dedupe record), blocklisted words are refused before anything is stored or queued,
 * uploaded styles can be turned off; and the policy read from the settings.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  blockedWord,
  OPEN_POLICY,
  type Policy,
  parseIdList,
  policyFromConfig,
} from '../../commands/kit/policy.ts';
import { loadConfig } from '../../core/config.ts';
import type { TgChat, TgUser } from './fake-telegram.ts';
import { startTelegramRig, stopTelegramRig, type TelegramRig } from './harness.ts';

const face = (f: string) => new Uint8Array(readFileSync(new URL(`../fixtures/faces/${f}`, import.meta.url)));

const policy: Policy = {
  ...OPEN_POLICY,
  bannedUsers: new Set(['telegram:6661']),
  bannedChats: new Set(['telegram:-1006']),
  blocklist: ['forbidden phrase', '违禁'],
  userStyles: false,
};

describe('operator policy, through Telegram', () => {
  let rig: TelegramRig;
  const banned: TgUser = { id: 6661, is_bot: false, first_name: 'Ban', language_code: 'en' };
  const ok: TgUser = { id: 6662, is_bot: false, first_name: 'Oki', language_code: 'en' };
  const dmBanned: TgChat = { id: 6661, type: 'private', first_name: 'Ban' };
  const dmOk: TgChat = { id: 6662, type: 'private', first_name: 'Oki' };
  const bannedGroup: TgChat = { id: -1006, type: 'supergroup', title: 'Spam' };

  beforeAll(async () => {
    rig = await startTelegramRig(undefined, { dispatch: { policy } });
  });
  afterAll(() => stopTelegramRig(rig));

  const jobsOf = (id: number) => rig.stack.services.jobs.list({ platform: 'telegram', id: String(id) });
  const seenKeys = () => rig.stack.producer.redis.keys(`${rig.stack.sys.prefix}:seen:telegram:*`);

  it('a banned user is refused before any work: no download, no job, no record', async () => {
    const { fake } = rig;
    const mark = fake.calls.length;
    const seen = (await seenKeys()).length;
    const file = fake.addFile(face('astronaut.png'), 'png');
    fake.push(
      fake.message(banned, dmBanned, { caption: '/train', photo: [{ ...file, width: 512, height: 512 }] }),
    );
    fake.push(fake.message(banned, dmBanned, { text: '/portrait neon-night' }));
    await fake.waitFor(
      () =>
        fake.calls.slice(mark).filter((c) => /This bot is not available to you/.test(String(c.params.text)))
          .length === 2,
    );
    expect(fake.calls.slice(mark).some((c) => c.method === 'getFile')).toBe(false);
    expect(await jobsOf(banned.id)).toEqual([]);
    expect((await seenKeys()).length).toBe(seen);
    expect(await rig.stack.services.profiles.get({ platform: 'telegram', id: String(banned.id) })).toEqual(
      {},
    );
  });

  it('a banned chat gets nothing at all, whoever writes', async () => {
    const { fake } = rig;
    const mark = fake.calls.length;
    fake.push(fake.message(ok, bannedGroup, { text: '/help' }));
    fake.push(fake.message(ok, dmOk, { text: '/help' }));
    // The private /help is answered; the group's, sent first, never is.
    await fake.waitFor(() =>
      fake.calls.slice(mark).find((c) => String(c.params.chat_id) === String(dmOk.id)),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.calls.slice(mark).filter((c) => String(c.params.chat_id) === String(bannedGroup.id))).toEqual(
      [],
    );
  });

  it('blocklisted words are refused before anything is stored or queued; other words pass', async () => {
    const { fake } = rig;
    let mark = fake.calls.length;
    fake.push(fake.callback(ok, dmOk, 'consent:accept'));
    await fake.waitFor(() => fake.calls.slice(mark).find((c) => /Thank you/.test(String(c.params.text))));

    const refused = async (text: string) => {
      const m = fake.calls.length;
      fake.push(fake.message(ok, dmOk, { text }));
      await fake.waitFor(() =>
        fake.calls
          .slice(m)
          .find((c) => /contains words this server does not allow/.test(String(c.params.text))),
      );
    };
    await refused('/portrait neon-night a FORBIDDEN  phrase at night');
    await refused('/talk 这是违禁内容');
    expect(await jobsOf(ok.id)).toEqual([]);

    // The same request without the words reaches the command (which needs a face first).
    mark = fake.calls.length;
    fake.push(fake.message(ok, dmOk, { text: '/portrait neon-night a phrase at night' }));
    await fake.waitFor(() =>
      fake.calls.slice(mark).find((c) => /no identity yet/.test(String(c.params.text))),
    );
  });

  it('uploaded styles turned off: a LoRA file is not downloaded and the answer says so', async () => {
    const { fake } = rig;
    const mark = fake.calls.length;
    const file = fake.addFile(new Uint8Array(64), 'safetensors');
    fake.push(fake.message(ok, dmOk, { document: { ...file, file_name: 'ink.safetensors' } }));
    await fake.waitFor(() =>
      fake.calls
        .slice(mark)
        .find((c) => /Uploaded styles is not available on this deployment/.test(String(c.params.text))),
    );
    expect(fake.calls.slice(mark).some((c) => c.method === 'getFile')).toBe(false);
  });
});

describe('the policy from the settings', () => {
  it('reads ban lists, the blocklist (setting and file) and the switches; refuses malformed ids', () => {
    const file = path.join(os.tmpdir(), `fc-blocklist-${process.pid}.txt`);
    writeFileSync(file, '# operator words\nBad Word\n坏词\n');
    const p = policyFromConfig(
      loadConfig({
        FACECHAIN_BANNED_USERS: 'telegram:1, discord:80351110224678912',
        FACECHAIN_BANNED_CHATS: 'telegram:-100',
        FACECHAIN_PROMPT_BLOCKLIST: 'nsfw, gore',
        FACECHAIN_PROMPT_BLOCKLIST_FILE: file,
        FACECHAIN_GROUP_FEATURES: 'open',
        FACECHAIN_USER_STYLES_ENABLED: 'false',
      }),
    );
    expect([...p.bannedUsers]).toEqual(['telegram:1', 'discord:80351110224678912']);
    expect([...p.bannedChats]).toEqual(['telegram:-100']);
    expect(p.blocklist).toEqual(['nsfw', 'gore', 'bad word', '坏词']);
    expect(p.groups).toBe('open');
    expect(p.userStyles).toBe(false);
    expect(policyFromConfig(loadConfig({})).groups).toBe('opt-in');
    expect(() => parseIdList('12345', 'FACECHAIN_BANNED_USERS')).toThrow(/platform:id/);
  });

  it('matches whole Latin words (any case, full-width too) and Chinese anywhere', () => {
    const p = { ...OPEN_POLICY, blocklist: ['ass', 'nsfw', '违禁'] };
    expect(blockedWord(p, ['a classic portrait'])).toBeUndefined();
    expect(blockedWord(p, ['an ASS portrait'])).toBe('ass');
    expect(blockedWord(p, ['ＮＳＦＷ please'])).toBe('nsfw');
    expect(blockedWord(p, ['这是违禁的'])).toBe('违禁');
  });
});
