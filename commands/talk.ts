/** A talking-head video of a result: from text (with a voice) or from the user's audio. */
import { z } from 'zod';
import { InputError } from '../base/errors.ts';
import { fetchChecked } from './attachments.ts';
import { storedResult } from './results.ts';
import { defineCommand } from './types.ts';

const options = z.object({
  action: z.enum(['make', 'animate', 'say']).default('make'),
  /** The result (job id) to animate, from a button. */
  arg: z.string().max(60).optional(),
  result: z.string().max(60).optional(),
  text: z.string().min(1).max(500).optional(),
  voice: z.string().max(60).optional(),
});

export const talk = defineCommand({
  name: 'talk',
  description: 'cmd.talk',
  options,
  needsConsent: true,
  listed: true,
  async run(ctx, opts) {
    const { inv, services } = ctx;
    const result = opts.result ?? opts.arg;
    const audio = inv.attachments[0];
    if (!result) throw new InputError('need_talk_input', ctx.t('talk.need_input'));
    // The result first: asking for words to animate a picture that is gone helps nobody.
    const [portrait] = await storedResult(
      ctx,
      result,
      () => new InputError('no_result', ctx.t('talk.no_result', { id: result })),
    );
    if (!opts.text && !audio) throw new InputError('need_talk_input', ctx.t('talk.need_input'));
    const data: Record<string, unknown> = { portrait };
    if (opts.text) data.text = opts.text;
    if (opts.voice) data.voice = opts.voice;
    if (audio)
      data.audio = await services.uploads.put(inv.user, audio.name, await fetchChecked(ctx, audio, 'audio'));
    const job = await services.jobs.enqueue({
      name: 'talk',
      data,
      user: inv.user,
      idempotencyKey: `${inv.platform}-${inv.id}`,
      replyTarget: inv.replyTarget,
    });
    return { text: ctx.t('talk.queued'), track: { jobId: job.id, label: ctx.t('cmd.talk') } };
  },
});
