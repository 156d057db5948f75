/**
 * Whole Discord conversations through the real discord.js Client against a local fake of the
 * REST API and gateway, with the real command layer and job layer.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiscordFrontend } from '../../bot/discord/bot.ts';
import { until } from '../queue/helpers.ts';
import { APP_ID, type DcUser, type FakeDiscord, GUILD_ID, type RestCall } from './fake-discord.ts';
import { type Stack, startDiscordRig, stopDiscordRig } from './harness.ts';

const face = (f: string) => new Uint8Array(readFileSync(new URL(`../fixtures/faces/${f}`, import.meta.url)));

describe('Discord front-end', () => {
  let fake: FakeDiscord;
  let stack: Stack;
  let dc: DiscordFrontend;
  const dan: DcUser = { id: '800000000000000011', username: 'dan' };

  beforeAll(async () => {
    ({ fake, stack, dc } = await startDiscordRig());
  });

  afterAll(async () => {
    await stopDiscordRig({ fake, stack, dc });
  });

  const since = (n: number) => fake.calls.slice(n);
  const said = (calls: RestCall[], re: RegExp) => calls.find((c) => re.test(fake.contents([c])[0] ?? ''));
  const callback = (id: string) =>
    fake.calls.find((c) => c.method === 'POST' && c.path.startsWith(`/interactions/${id}/`));

  it('registers localized slash commands for the guild', () => {
    const put = fake.calls.find(
      (c) => c.method === 'PUT' && c.path === `/applications/${APP_ID}/guilds/${GUILD_ID}/commands`,
    );
    expect(put).toBeDefined();
    const defs = put!.body as Array<{
      name: string;
      description_localizations: Record<string, string>;
      options: unknown[];
    }>;
    const train = defs.find((d) => d.name === 'train')!;
    expect(train.options).toHaveLength(20);
    expect(train.description_localizations['zh-CN']).toContain('照片');
    expect(defs.map((d) => d.name)).toEqual(
      expect.arrayContaining(['portrait', 'consent', 'forget', 'group', 'photos']),
    );
  });

  it('consent → photos → report → portrait → clear "not available" delivery; every interaction deferred at once', async () => {
    let mark = fake.calls.length;
    const a1 = fake.addAttachment('astronaut.png', face('astronaut.png'), 'image/png');
    const early = fake.slash(dan, 'train', [{ name: 'photo1', type: 11, value: a1.id }], {
      attachments: [a1],
    });
    const prompt = await fake.waitFor(() => said(since(mark), /Privacy notice/));
    expect(callback(early)).toBeDefined(); // deferred (type 5) before anything else
    expect((callback(early)!.body as { type: number }).type).toBe(5);
    expect(JSON.stringify(prompt.body)).toContain('consent:accept');

    mark = fake.calls.length;
    fake.button(dan, 'consent:accept');
    await fake.waitFor(() => said(since(mark), /Thank you/));

    mark = fake.calls.length;
    const a2 = fake.addAttachment('astronaut.png', face('astronaut.png'), 'image/png');
    const a3 = fake.addAttachment('group.jpg', face('sample4.jpg'));
    fake.slash(
      dan,
      'train',
      [
        { name: 'photo1', type: 11, value: a2.id },
        { name: 'photo2', type: 11, value: a3.id },
      ],
      { attachments: [a2, a3], dm: true },
    );
    await fake.waitFor(() => said(since(mark), /Got 2 photo/));
    // The report arrives as a follow-up on the interaction webhook, with the accepted crop attached.
    const report = await fake.waitFor(
      () =>
        since(mark).find(
          (c) =>
            c.path.startsWith(`/webhooks/${APP_ID}/`) &&
            c.method === 'POST' &&
            /photos? can be used/.test(fake.contents([c])[0] ?? ''),
        ),
      90_000,
    );
    expect(fake.contents([report])[0]).toMatch(
      /^1 of 2 photos can be used for your portraits\.\nUsed: astronaut\.png\./,
    );
    expect(fake.contents([report])[0]).toMatch(/• group\.jpg shows \d faces/);
    expect(report.files.length).toBeGreaterThan(0);

    // In a server, making pictures waits for an administrator's opt-in (FACECHAIN_GROUP_FEATURES).
    mark = fake.calls.length;
    fake.slash(dan, 'portrait', [{ name: 'style', type: 3, value: 'neon-night' }]);
    await fake.waitFor(() => said(since(mark), /Group features are off in this group/));
    mark = fake.calls.length;
    fake.slash(dan, 'group', [{ name: 'action', type: 3, value: 'on' }], { admin: true });
    await fake.waitFor(() => said(since(mark), /Group features are on/));

    mark = fake.calls.length;
    fake.slash(dan, 'portrait', [
      { name: 'style', type: 3, value: 'neon-night' },
      { name: 'count', type: 4, value: 2 },
    ]);
    const na = await fake.waitFor(() => said(since(mark), /not available on this deployment/), 30_000);
    expect(fake.contents([na])[0]).toMatch(/^Portrait generation is not available on this deployment\./);
    expect(since(mark).every((c) => c.files.length === 0)).toBe(true);
  }, 150_000);

  it("autocompletes voices and styles within Discord's 3 seconds", async () => {
    const t0 = Date.now();
    const id = fake.autocomplete(dan, 'talk', { name: 'voice', value: 'xiao' });
    const cb = await fake.waitFor(() => callback(id), 10_000);
    // The voice list of the online service is out of reach here: the built-in list answers in time.
    expect(cb.at - t0).toBeLessThan(3000);
    const body = cb.body as { type: number; data: { choices: Array<{ name: string; value: string }> } };
    expect(body.type).toBe(8);
    expect(body.data.choices.map((c) => c.value)).toContain('zh-CN-XiaoxiaoNeural');
    expect(body.data.choices.every((c) => /xiao/i.test(`${c.name} ${c.value}`))).toBe(true);
    const sid = fake.autocomplete(dan, 'portrait', { name: 'style', value: 'sno' });
    const styles = (await fake.waitFor(() => callback(sid), 10_000)).body as typeof body;
    expect(styles.data.choices.map((c) => c.value)).toEqual(['winter-snow']);
  });

  it('a re-delivered interaction (same id) creates no second job', async () => {
    const trains = async () =>
      (await stack.services.jobs.list({ platform: 'discord', id: dan.id })).filter(
        (j) => j.name === 'prepare-identity',
      );
    const before = (await trains()).length;
    const a = fake.addAttachment('astronaut.png', face('astronaut.png'), 'image/png');
    const mark = fake.calls.length;
    const id = fake.slash(dan, 'train', [{ name: 'photo1', type: 11, value: a.id }], {
      attachments: [a],
      dm: true,
    });
    await fake.waitFor(() => said(since(mark), /Got 1 photo/));
    // The gateway replays the same interaction (e.g. after a resume).
    fake.send('INTERACTION_CREATE', {
      ...(JSON.parse(JSON.stringify({ id })) as object),
      id,
      application_id: APP_ID,
      type: 2,
      token: `itok-${id}`,
      version: 1,
      locale: 'en-US',
      data: {
        id: '1',
        name: 'train',
        type: 1,
        options: [{ name: 'photo1', type: 11, value: a.id }],
        resolved: { attachments: { [a.id as string]: a } },
      },
      guild_id: GUILD_ID,
      channel_id: '900000000000000003',
      member: {
        user: { id: dan.id, username: 'dan', discriminator: '0', avatar: null },
        roles: [],
        joined_at: new Date().toISOString(),
        permissions: '3072',
        deaf: false,
        mute: false,
        flags: 0,
      },
      app_permissions: '0',
      entitlements: [],
      authorizing_integration_owners: {},
    });
    await new Promise((r) => setTimeout(r, 500));
    expect((await trains()).length).toBe(before + 1);
    expect((await trains()).filter((j) => j.id === `dc-${APP_ID}-${id}`)).toHaveLength(1);
    // One acknowledgement text for the request; progress edits extend that same message.
    const heads = fake
      .contents(since(mark))
      .filter((t) => t === 'Got 1 photo. Checking them now — I will report on each photo.');
    expect(heads).toHaveLength(1);
  });

  it('honours 429 retry_after on follow-ups', async () => {
    // Earlier tests' jobs still edit their own messages while they run: let them finish first,
    // so the one rate-limited edit is this command's.
    await until(async () => {
      const c = await stack.producer.queue('cpu').getJobCounts('active', 'waiting', 'prioritized');
      return c.active + c.waiting + c.prioritized === 0;
    }, 60_000);
    await new Promise((r) => setTimeout(r, 500));
    fake.rateLimitNext(/^PATCH \/webhooks\//, 1);
    const mark = fake.calls.length;
    fake.slash(dan, 'help');
    const sent = await fake.waitFor(() => {
      const edits = since(mark).filter((c) => c.method === 'PATCH' && c.path.startsWith('/webhooks/'));
      return edits.length >= 2 ? edits : undefined;
    });
    expect(sent[1].at - sent[0].at).toBeGreaterThanOrEqual(950);
    expect(fake.contents([sent[1]])[0]).toContain('Good photos');
  });

  it('group theme: a non-admin is refused, an admin sets it, a joining member is invited by DM', async () => {
    const eve: DcUser = { id: '800000000000000022', username: 'eve' };
    let mark = fake.calls.length;
    fake.slash(
      eve,
      'group',
      [
        { name: 'action', type: 3, value: 'style' },
        { name: 'arg', type: 3, value: 'neon-night' },
      ],
      { locale: 'zh-CN' },
    );
    const refusal = await fake.waitFor(() => said(since(mark), /管理员/));
    expect(fake.contents([refusal])[0]).toBe('只有群管理员可以修改群主题或群头像。');
    expect(
      (await stack.services.groups.get({ platform: 'discord', id: GUILD_ID, kind: 'group' })).theme,
    ).toBeUndefined();

    mark = fake.calls.length;
    fake.slash(
      dan,
      'group',
      [
        { name: 'action', type: 3, value: 'style' },
        { name: 'arg', type: 3, value: 'neon-night' },
      ],
      { admin: true },
    );
    await fake.waitFor(() => said(since(mark), /Group theme set to "neon-night"/));

    mark = fake.calls.length;
    fake.memberJoin({ id: '800000000000000033', username: 'fay' });
    const dm = await fake.waitFor(() => since(mark).find((c) => c.path === '/users/@me/channels'));
    expect((dm.body as { recipient_id: string }).recipient_id).toBe('800000000000000033');
    const invite = await fake.waitFor(() => said(since(mark), /Welcome, fay/));
    expect(fake.contents([invite])[0]).toContain('neon-night');
  });

  it("acknowledges 50 concurrent commands within Discord's 3 s", async () => {
    const ids = Array.from({ length: 50 }, (_, k) =>
      fake.slash({ id: `8000000000000001${String(k).padStart(2, '0')}`, username: `u${k}` }, 'help'),
    );
    await fake.waitFor(() => ids.every((id) => callback(id)));
    const acks = ids.map((id) => callback(id)!.at);
    const latest = Math.max(...acks);
    expect(latest - Math.min(...acks)).toBeLessThan(3000);
  });

  it('delivers after the interaction token is gone as a channel message, and privately by DM', async () => {
    const { ref } = await stack.producer.artifacts.put('dc-800000000000000011', face('messi5.jpg'), {
      ext: 'jpg',
    });
    const ctx = {
      requestId: 'r1',
      job: 'generate',
      user: 'dc-800000000000000011',
      artifacts: stack.producer.artifacts,
      signal: new AbortController().signal,
    };
    const reply = { text: 'Here is your result.', images: [ref] };
    let mark = fake.calls.length;
    await dc.deliver(
      { platform: 'discord', chatId: '900000000000000003', userId: dan.id, extra: { interaction: '1' } },
      reply,
      ctx,
    );
    const msg = since(mark).find((c) => c.path === '/channels/900000000000000003/messages')!;
    expect(fake.contents([msg])[0]).toBe('Here is your result.');
    expect(msg.files).toHaveLength(1);

    mark = fake.calls.length;
    await dc.deliver(
      { platform: 'discord', chatId: '900000000000000003', userId: dan.id, privateDelivery: true },
      reply,
      ctx,
    );
    expect(since(mark).map((c) => `${c.method} ${c.path}`)).toEqual([
      'POST /users/@me/channels',
      expect.stringMatching(/^POST \/channels\/\d+\/messages$/),
    ]);
  });

  it('offers styles in a select menu; choosing one makes portraits in it', async () => {
    let mark = fake.calls.length;
    fake.slash(dan, 'styles', [], { dm: true });
    const list = await fake.waitFor(() => said(since(mark), /^Styles 1-5 of/));
    const rows = (
      list.body as {
        components: Array<{
          components: Array<{ type: number; custom_id: string; options?: Array<{ value: string }> }>;
        }>;
      }
    ).components;
    const menu = rows.flatMap((r) => r.components).find((c) => c.type === 3)!;
    expect(menu.custom_id).toBe('select');
    expect(menu.options!.map((o) => o.value)).toContain('portrait:style:autumn-park');

    mark = fake.calls.length;
    fake.select(dan, 'select', ['portrait:style:autumn-park'], { dm: true });
    // Dan has a prepared identity from the conversation above; the style is the one chosen.
    const answer = await fake.waitFor(() => said(since(mark), /not available on this deployment|Making/));
    expect(fake.contents([answer])[0]).toContain('Portrait generation is not available on this deployment');
  });

  it('"Animate" opens a modal for the words; submitting it runs talk on that result', async () => {
    let mark = fake.calls.length;
    const press = fake.button(dan, 'talk:animate:dc-123456', { dm: true });
    const modal = await fake.waitFor(() => callback(press));
    expect(modal.body).toMatchObject({
      type: 9,
      data: { custom_id: 'talk:say:dc-123456', title: 'Make it talk' },
    });
    expect(since(mark).filter((c) => c.method === 'PATCH')).toHaveLength(0);

    mark = fake.calls.length;
    fake.modalSubmit(dan, 'talk:say:dc-123456', 'Hello from FaceChain', { dm: true });
    // No finished result with that id exists for Dan: said clearly, nothing enqueued.
    const answer = await fake.waitFor(() => said(since(mark), /no finished result/));
    expect(fake.contents([answer])[0]).toBe(
      'There is no finished result dc-123456 of yours. Use a result id from /status.',
    );
  });
});
