/**
 * A talking-head video: a result (or, without one, the user's latest portrait, else their
 * prepared face) speaking a text with a voice, or the user's own voice message or audio file.
 * Runs on a GPU worker's engine where one runs (`talk-gpu`), else the basic CPU animator.
 */
import { z } from 'zod';
import { InputError } from '../base/errors.ts';
import { config } from '../core/config.ts';
import { fetchChecked } from './kit/attachments.ts';
import { enqueueFor, gpuOr } from './kit/enqueue.ts';
import { storedResult } from './kit/results.ts';
import type { Services } from './kit/services.ts';
import { type CommandContext, defineCommand } from './kit/types.ts';

const options = z.object({
  action: z.enum(['make', 'animate', 'say']).default('make').meta({ hidden: true }),
  /** The result (job id) to animate, from a button. */
  arg: z.string().max(60).optional().meta({ hidden: true }),
  result: z
    .string()
    .max(60)
    .optional()
    // In a text command, only a first word shaped like a job id (tg-…, dc-…) is the result:
    // "/talk hello" speaks to the latest portrait.
    .meta({
      describe: 'opt.talk.result',
      positional: 0,
      match: /^(tg|dc|web|cli)-[A-Za-z0-9_-]+$/,
    }),
  text: z.string().min(1).max(5000).optional().meta({ describe: 'opt.talk.text', positional: 'rest' }),
  voice: z.string().max(64).optional().meta({ describe: 'opt.talk.voice', autocomplete: true }),
  rate: z
    .string()
    .regex(/^[+-]\d{1,3}%$/, 'hint.rate')
    .optional()
    .meta({ describe: 'opt.talk.rate' }),
  pitch: z
    .string()
    .regex(/^[+-]\d{1,2}Hz$/, 'hint.pitch')
    .optional()
    .meta({ describe: 'opt.talk.pitch' }),
  /** A round video note (Telegram) instead of an ordinary video. */
  note: z
    .union([z.boolean(), z.enum(['on', 'off', 'yes', 'no', 'true', 'false'])])
    .transform((v) => (typeof v === 'boolean' ? v : ['on', 'yes', 'true'].includes(v)))
    .optional()
    .meta({ describe: 'opt.talk.note' }),
});

/** Jobs whose pictures can be animated, newest first: portraits, template results, try-ons. */
const PICTURE_JOBS = new Set(['generate', 'template', 'try-on', 'group-photo']);

/** The user's newest result picture still stored, else the first crop of their prepared face. */
async function latestPortrait(services: Services, ctx: CommandContext): Promise<string | undefined> {
  const user = ctx.inv.user;
  for (const j of await services.jobs.list(user)) {
    if (j.state !== 'completed' || !PICTURE_JOBS.has(j.name)) continue;
    const files = await services.jobs.resultFiles(j.id, user);
    if (files?.images.length) return files.images[0];
  }
  const faces = (await services.identities.list(user)).filter((i) => i.crops.length > 0);
  return faces[faces.length - 1]?.crops[0];
}

export const talk = defineCommand({
  name: 'talk',
  order: 10,
  description: 'cmd.talk',
  options,
  attachments: [{ name: 'audio', describe: 'opt.talk.audio' }],
  needsConsent: true,
  listed: true,
  groupFeature: true,
  async run(ctx, opts) {
    const { inv, services } = ctx;
    const result = opts.result ?? opts.arg;
    const audio = inv.attachments[0];
    const max = config().FACECHAIN_TALK_MAX_TEXT;
    if (opts.text && opts.text.length > max)
      throw new InputError('text_too_long', ctx.t('talk.text_too_long', { max, length: opts.text.length }));
    // The picture first: asking for words to animate a picture that is gone helps nobody.
    const portrait = result
      ? (
          await storedResult(
            ctx,
            result,
            () => new InputError('no_result', ctx.t('talk.no_result', { id: result })),
          )
        )[0]
      : await latestPortrait(services, ctx);
    if (!portrait) throw new InputError('no_portrait', ctx.t('talk.no_portrait'));
    if (!opts.text && !audio) throw new InputError('need_talk_input', ctx.t('talk.need_input'));
    const data: Record<string, unknown> = { portrait, locale: ctx.locale };
    if (opts.text && !audio) data.text = opts.text;
    if (opts.voice) data.voice = opts.voice;
    if (opts.rate) data.rate = opts.rate;
    if (opts.pitch) data.pitch = opts.pitch;
    if (opts.note) data.note = true;
    if (audio)
      data.audio = await services.uploads.put(inv.user, audio.name, await fetchChecked(ctx, audio, 'audio'));
    // A GPU worker's engine where one runs; the basic animator on any CPU worker otherwise.
    const name = await gpuOr(ctx, 'talk-gpu', 'talk');
    const job = await enqueueFor(ctx, name, data);
    return { text: ctx.t('talk.queued'), track: { jobId: job.id, label: ctx.t('cmd.talk') } };
  },
});
