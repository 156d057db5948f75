/**
 * The job layer's Lua scripts, one file each in this folder, read once at start-up, and how they
 * run: EVALSHA (the body goes to each Redis once), EVAL on NOSCRIPT. `-- #include name` inlines
 * another file (the delivery step shared by finish.lua and enqueue-delivery.lua).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

function load(name: string): string {
  const text = readFileSync(new URL(`./${name}.lua`, import.meta.url), 'utf8');
  return text.replace(/^-- #include ([a-z-]+)$/gm, (_, inc: string) => load(inc));
}

export const SCRIPTS = {
  admit: load('admit'),
  start: load('start'),
  finish: load('finish'),
  enqueueDelivery: load('enqueue-delivery'),
  checkDeliveries: load('check-deliveries'),
  doneDeliveries: load('done-deliveries'),
  retryDelivery: load('retry-delivery'),
  markSwept: load('mark-swept'),
  claimUpdate: load('claim-update'),
} as const;

const shas = new Map<string, string>();

/** EVALSHA (the script body is sent once per Redis, not on every call), EVAL on NOSCRIPT. */
export async function runScript(redis: Redis, lua: string, numKeys: number, ...args: (string | number)[]) {
  let sha = shas.get(lua);
  if (!sha) {
    sha = createHash('sha1').update(lua).digest('hex');
    shas.set(lua, sha);
  }
  try {
    return await redis.evalsha(sha, numKeys, ...args);
  } catch (e) {
    if (!String((e as Error).message).includes('NOSCRIPT')) throw e;
    return redis.eval(lua, numKeys, ...args);
  }
}
