/**
 * What the crowd does: a seeded timeline of updates. Each user opens with /start and (most of
 * them) accepts the privacy text and sends a photo, then sends a random mix of /status, a photo to check, a
 * template request (a photo captioned /template), /help and /cancel, in order, spread over the
 * run. The same seed gives the same timeline.
 */

export type Action = 'start' | 'consent' | 'status' | 'photo' | 'template' | 'cancel' | 'help';

export interface CrowdUser {
  /** Index in the crowd (stable across runs with the same seed). */
  n: number;
  platform: 'telegram' | 'discord';
  /** Which bot of the stack the user talks to. */
  bot: number;
}

export interface Planned {
  user: CrowdUser;
  action: Action;
  /** Seconds after the start of the run. */
  at: number;
}

export interface PlanOptions {
  users: number;
  updates: number;
  seconds: number;
  seed: number;
  /** Number of bots; users are spread over them. */
  bots?: number;
  /** Share of Discord users (the rest use Telegram); 0..1. */
  discordShare?: number;
  /** Share of users who never accept the privacy text (their photos get the consent prompt). */
  noConsentShare?: number;
  /** Platforms each bot serves (default: both). */
  platforms?: Array<'telegram' | 'discord'>;
}

/** mulberry32: small, fast, seedable. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MIX: Array<[Action, number]> = [
  ['status', 0.34],
  ['photo', 0.2],
  ['template', 0.2],
  ['cancel', 0.1],
  ['help', 0.08],
  ['start', 0.08],
];

function pick(r: () => number): Action {
  let x = r();
  for (const [a, w] of MIX) {
    x -= w;
    if (x <= 0) return a;
  }
  return 'status';
}

/** The whole run's updates, sorted by time; each user's updates keep their order. */
export function plan(o: PlanOptions): Planned[] {
  const r = rng(o.seed);
  const platforms = o.platforms ?? ['telegram', 'discord'];
  const share = platforms.length === 1 ? (platforms[0] === 'discord' ? 1 : 0) : (o.discordShare ?? 0.5);
  const users: CrowdUser[] = Array.from({ length: o.users }, (_, n) => ({
    n,
    platform: r() < share ? 'discord' : 'telegram',
    bot: n % (o.bots ?? 1),
  }));
  const out: Planned[] = [];
  const per = Math.floor(o.updates / o.users);
  let extra = o.updates - per * o.users;
  for (const user of users) {
    const count = per + (extra-- > 0 ? 1 : 0);
    if (count === 0) continue;
    const consents = r() >= (o.noConsentShare ?? 0.1);
    // Who accepts the privacy text sends a photo next (a template needs a prepared face).
    const actions: Action[] = ['start'];
    if (consents && count > 1) actions.push('consent');
    if (consents && count > 3) actions.push('photo');
    while (actions.length < count) actions.push(pick(r));
    // The user's updates at random moments of the run, in their order.
    const times = actions.map(() => r() * o.seconds).sort((a, b) => a - b);
    actions.forEach((action, i) => {
      out.push({ user, action, at: times[i] });
    });
  }
  return out.sort((a, b) => a.at - b.at);
}
