/**
 * The real stack for front-end tests: the job layer's Producer and JobWorker on the shared Redis
 * under a fresh key prefix, the real command layer, and a front-end pointed at a local fake of
 * the platform API. Only the platform is faked.
 */

import { DiscordFrontend } from '../../bot/discord/bot.ts';
import { producerServices } from '../../bot/services.ts';
import { installedStyles } from '../../bot/styles.ts';
import { TelegramFrontend } from '../../bot/telegram/bot.ts';
import type { DispatchOptions } from '../../commands/kit/dispatch.ts';
import type { StyleView } from '../../commands/kit/services.ts';
import type { JobWorkerOptions } from '../../queue/worker.ts';

type Processors = NonNullable<JobWorkerOptions['processors']>;

import { followUpStarter, Producer } from '../../queue/producer.ts';
import type { Deliverers } from '../../queue/reply.ts';
import type { JobSystemOptions } from '../../queue/system.ts';
import { JobWorker } from '../../queue/worker.ts';
import { cleanup, testOptions } from '../queue/helpers.ts';
import { APP_ID, TOKEN as DC_TOKEN, FakeDiscord, GUILD_ID } from './fake-discord.ts';
import { FakeTelegram, TOKEN as TG_TOKEN } from './fake-telegram.ts';

export interface Stack {
  sys: JobSystemOptions;
  producer: Producer;
  services: ReturnType<typeof producerServices>;
  worker?: JobWorker;
  startWorker(deliverers: Deliverers, processors?: Processors): Promise<JobWorker>;
  close(): Promise<void>;
}

export async function startStack(opts: { styles?: () => Promise<StyleView[]> } = {}): Promise<Stack> {
  const sys = testOptions({ attempts: 1 });
  const producer = new Producer(sys);
  const services = producerServices(producer, { styles: opts.styles ?? (await installedStyles()) });
  const stack: Stack = {
    sys,
    producer,
    services,
    async startWorker(deliverers, processors) {
      const worker = new JobWorker(sys, {
        queues: ['cpu', 'gpu-sd15', 'gpu-talk', 'deliver'],
        deliverers,
        // As the bot process does: the photo report starts training where a trainer runs.
        startFollowUp: followUpStarter(producer),
        ...(processors ? { processors } : {}),
        threads: 1,
        shutdownDeadlineMs: 2000,
      });
      await worker.start();
      stack.worker = worker;
      return worker;
    },
    async close() {
      await stack.worker?.close(2000);
      await producer.close();
      await cleanup(sys);
    },
  };
  return stack;
}

/** The Telegram front-end on the real stack against a fresh fake Bot API, with test-speed timings. */
export interface TelegramRig {
  fake: FakeTelegram;
  stack: Stack;
  tg: TelegramFrontend;
}

export async function startTelegramRig(
  processors?: Processors,
  opts: { dispatch?: DispatchOptions } = {},
): Promise<TelegramRig> {
  const fake = await new FakeTelegram().start();
  const stack = await startStack();
  const tg = new TelegramFrontend({
    token: TG_TOKEN,
    apiRoot: fake.url,
    services: stack.services,
    ...(opts.dispatch ? { dispatch: opts.dispatch } : {}),
    editIntervalMs: 400,
    albumWaitMs: 150,
    progressPollMs: 50,
    maxRetryDelaySeconds: 5,
  });
  await stack.startWorker({ telegram: tg }, processors);
  await tg.start();
  return { fake, stack, tg };
}

export async function stopTelegramRig(rig: Partial<TelegramRig>): Promise<void> {
  await rig.tg?.stop();
  await rig.stack?.close();
  await rig.fake?.stop();
}

/** The Discord front-end on the real stack against a fresh fake REST API and gateway. */
export interface DiscordRig {
  fake: FakeDiscord;
  stack: Stack;
  dc: DiscordFrontend;
}

export async function startDiscordRig(processors?: Processors): Promise<DiscordRig> {
  const fake = await new FakeDiscord().start();
  const stack = await startStack();
  const dc = new DiscordFrontend({
    token: DC_TOKEN,
    applicationId: APP_ID,
    guildId: GUILD_ID,
    apiRoot: fake.api,
    services: stack.services,
    editIntervalMs: 300,
    progressPollMs: 50,
  });
  await stack.startWorker({ discord: dc }, processors);
  await dc.start();
  return { fake, stack, dc };
}

export async function stopDiscordRig(rig: Partial<DiscordRig>): Promise<void> {
  await rig.dc?.stop();
  await rig.stack?.close();
  await rig.fake?.stop();
}
