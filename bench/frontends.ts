/**
 * Front-end figures, against the local fakes of the platforms (test/bot/fake-*.ts), with the
 * real command layer and job layer (Redis under a fresh prefix, deleted afterwards):
 *  1. Discord interaction acknowledgement latency, p50/p99, with 50 interactions dispatched at
 *     once (gateway dispatch → defer callback received). Target p99 < 100 ms.
 *  2. Telegram updates handled per second: updates queued at the fake, fetched by grammY long
 *     polling, dispatched (dedupe + profile + command) and answered with sendMessage.
 *
 *   node bin/run-ts.js bench/frontends.ts [rounds=10] [telegram updates=2000]
 * Other helpers share this machine's cores, so figures may be depressed.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { DiscordFrontend } from '../bot/discord/bot.ts';
import { producerServices } from '../bot/services.ts';
import { installedStyles } from '../bot/styles.ts';
import { TelegramFrontend } from '../bot/telegram/bot.ts';
import { config } from '../core/config.ts';
import { Producer } from '../queue/producer.ts';
import { jobSystemOptions } from '../queue/system.ts';
import { APP_ID, TOKEN as DC_TOKEN, FakeDiscord, GUILD_ID } from '../test/bot/fake-discord.ts';
import { FakeTelegram, TOKEN as TG_TOKEN } from '../test/bot/fake-telegram.ts';

const ROUNDS = Number(process.argv[2] ?? 10);
const TG_UPDATES = Number(process.argv[3] ?? 2000);
const CONCURRENT = 50;
const url = config().REDIS_URL ?? 'redis://127.0.0.1:6379';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const artifactsDir = mkdtempSync(path.join(os.tmpdir(), 'fc-bench-fe-'));
const sys = jobSystemOptions(config(), url, { prefix: `bfe${randomUUID().slice(0, 8)}`, artifactsDir });
const producer = new Producer(sys);
const services = producerServices(producer, { styles: await installedStyles() });

async function discordAck(): Promise<number[]> {
  const fake = await new FakeDiscord().start();
  const dc = new DiscordFrontend({
    token: DC_TOKEN,
    applicationId: APP_ID,
    guildId: GUILD_ID,
    apiRoot: fake.api,
    services,
  });
  await dc.start();
  const samples: number[] = [];
  // Warm-up round (JIT, connection pools), not counted.
  for (let round = -1; round < ROUNDS; round++) {
    const ids = Array.from({ length: CONCURRENT }, (_, k) =>
      fake.slash(
        { id: `81${String(round + 1).padStart(4, '0')}${String(k).padStart(12, '0')}`, username: `u${k}` },
        k % 2 ? 'help' : 'status',
      ),
    );
    await fake.waitFor(() => ids.every((id) => fake.ackedAt.has(id)), 30_000);
    if (round >= 0) for (const id of ids) samples.push(fake.ackedAt.get(id)! - fake.dispatchedAt.get(id)!);
    // Let the replies finish before the next burst.
    await new Promise((r) => setTimeout(r, 300));
  }
  await dc.stop();
  await fake.stop();
  return samples;
}

async function telegramThroughput(): Promise<number> {
  const fake = await new FakeTelegram().start();
  const tg = new TelegramFrontend({ token: TG_TOKEN, apiRoot: fake.url, services });
  await tg.start();
  const before = fake.callsOf('sendMessage').length;
  const t0 = performance.now();
  for (let i = 0; i < TG_UPDATES; i++) {
    const id = 10_000 + (i % 500); // 500 users, 4 updates each: within the per-user burst
    fake.push(
      fake.message({ id, is_bot: false, first_name: 'U' }, { id, type: 'private' }, { text: '/help' }),
    );
  }
  await fake.waitFor(() => fake.callsOf('sendMessage').length - before >= TG_UPDATES, 600_000);
  const rate = (TG_UPDATES / (performance.now() - t0)) * 1000;
  await tg.stop();
  await fake.stop();
  return rate;
}

async function cleanup(): Promise<void> {
  const r = new Redis(url);
  const keys: string[] = [];
  for await (const batch of r.scanStream({ match: `${sys.prefix}:*`, count: 1000 }))
    keys.push(...(batch as string[]));
  for (let i = 0; i < keys.length; i += 500) await r.del(...keys.slice(i, i + 500));
  r.disconnect();
  rmSync(artifactsDir, { recursive: true, force: true });
}

try {
  const cores = os.availableParallelism();
  const acks = await discordAck();
  console.log(
    `discord ack latency (${CONCURRENT} concurrent x ${ROUNDS} rounds = ${acks.length} interactions, ${cores} cores): ` +
      `p50 ${pct(acks, 50).toFixed(1)} ms, p99 ${pct(acks, 99).toFixed(1)} ms, max ${Math.max(...acks).toFixed(1)} ms ` +
      `(target p99 < 100 ms: ${pct(acks, 99) < 100 ? 'met' : 'NOT met'})`,
  );
  const rate = await telegramThroughput();
  console.log(
    `telegram updates handled (${TG_UPDATES} /help updates via long polling, ${cores} cores): ${rate.toFixed(0)} updates/s`,
  );
  console.log('note: other helpers share this machine, so figures may be depressed');
} finally {
  await producer.close();
  await cleanup();
}
