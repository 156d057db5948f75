/** A talking-head video of a result: from text (with a voice) or from the user's audio. */
import { z } from 'zod';
import { InputError } from '../base/errors.ts';
import { fetchChecked } from './kit/attachments.ts';
import { storedResult } from './kit/results.ts';
import { defineCommand } from './kit/types.ts';

const options = z.object({
  action: z.enum(['make', 'animate', 'say']).default('make').meta({ hidden: true }),
  /** The result (job id) to animate, from a button. */
  arg: z.string().max(60).optional().meta({ hidden: true }),
  result: z.string().max(60).optional().meta({ describe: 'opt.talk.result', positional: 0, required: true }),
  text: z.string().min(1).max(500).optional().meta({ describe: 'opt.talk.text', positional: 'rest' }),
  voice: z.string().max(60).optional().meta({ describe: 'opt.talk.voice' }),
});

export const talk = defineCommand({
  name: 'talk',
  order: 10,
  description: 'cmd.talk',
  options,
  attachments: [{ name: 'audio', describe: 'opt.talk.audio' }],
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
