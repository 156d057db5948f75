/**
 * Portraits in a style. Checks the identity and style, enqueues `generate`; results come back
 * through delivery with the buttons from `resultButtons`.
 */
import { z } from 'zod';
import { InputError, NotAvailableError } from '../base/errors.ts';
import { fetchChecked } from './kit/attachments.ts';
import { button } from './kit/buttons.ts';
import { keptFor } from './kit/results.ts';
import type { IdentityView, Services } from './kit/services.ts';
import { type Button, type CommandContext, defineCommand } from './kit/types.ts';

export function resultButtons(t: CommandContext['t'], jobId: string): Button[][] {
  return [
    [
      button(t('portrait.reroll'), 'portrait', 'reroll', jobId),
      button(t('portrait.more'), 'portrait', 'more', jobId),
      button(t('portrait.animate'), 'talk', 'animate', jobId),
    ],
    [
      button(t('portrait.tryon'), 'tryon', 'ask', jobId),
      button(t('portrait.delete'), 'portrait', 'delete', jobId, 'danger'),
    ],
  ];
}

/**
 * The user's newest usable identity: a trained one (LoRA) first, else a prepared one (zero-shot),
 * also while its LoRA trains or after its training failed.
 */
export async function requireIdentity(ctx: CommandContext): Promise<IdentityView> {
  const ids = await ctx.services.identities.list(ctx.inv.user);
  // "failed" is only ever set on a prepared identity whose LoRA training failed (record-results.ts).
  const usable = ids.filter((i) => i.status !== 'preparing');
  const pick = usable.find((i) => i.status === 'trained') ?? usable[usable.length - 1];
  if (!pick) {
    const busy = ids.some((i) => i.status === 'preparing' || i.status === 'training');
    throw new InputError('no_identity', ctx.t(busy ? 'portrait.identity_busy' : 'portrait.no_identity'));
  }
  return pick;
}

export async function resolveStyle(
  ctx: CommandContext,
  services: Services,
  wanted?: string,
): Promise<string> {
  const styles = await services.styles.list();
  if (styles.length === 0) throw new InputError('no_styles', ctx.t('portrait.no_styles'));
  const profile = await services.profiles.get(ctx.inv.user);
  const id = wanted ?? profile.defaultStyle ?? styles[0].id;
  const hit = styles.find((s) => s.id === id || s.name.toLowerCase() === id.toLowerCase());
  if (!hit) throw new InputError('unknown_style', ctx.t('portrait.unknown_style', { style: id }));
  return hit.id;
}

const USER_STYLE_ID = /^u-[0-9a-f]{12}$/;

/**
 * The caller's own uploaded style matching `wanted` (by id or name), if any. An uploaded-style id
 * that is not the caller's is refused the same way whether or not it exists (no probing).
 */
export async function ownUserStyle(
  ctx: CommandContext,
  wanted: string | undefined,
): Promise<{ id: string; name: string } | undefined> {
  if (!wanted) return undefined;
  const mine = await ctx.services.userStyles.list(ctx.inv.user);
  const hit = mine.find((s) => s.id === wanted || s.name.toLowerCase() === wanted.toLowerCase());
  if (hit) return { id: hit.id, name: hit.name };
  if (USER_STYLE_ID.test(wanted))
    throw new InputError('not_your_style', ctx.t('mystyle.not_yours', { id: wanted }));
  return undefined;
}

/** A stable seed derived from an earlier job id, so "more like this" stays near it. */
function seedFrom(jobId: string): number {
  let h = 2166136261;
  for (const c of jobId) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h % 2 ** 31;
}

const options = z.object({
  style: z
    .string()
    .min(1)
    .max(80)
    .optional()
    .meta({ describe: 'opt.portrait.style', positional: 0, autocomplete: true }),
  count: z.coerce
    .number()
    .int()
    .min(1)
    .max(6)
    .default(4)
    .meta({ describe: 'opt.portrait.count', positional: 1 }),
  seed: z.coerce
    .number()
    .int()
    .min(0)
    .max(2 ** 31)
    .optional()
    .meta({ describe: 'opt.portrait.seed', positional: 2 }),
  action: z.enum(['make', 'style', 'reroll', 'more', 'delete']).default('make').meta({ hidden: true }),
  /** The earlier job a button refers to. */
  arg: z.string().max(60).optional().meta({ hidden: true }),
});

export const portrait = defineCommand({
  name: 'portrait',
  order: 5,
  description: 'cmd.portrait',
  options,
  attachments: [{ name: 'pose', describe: 'opt.portrait.pose' }],
  needsConsent: true,
  listed: true,
  async run(ctx, opts) {
    const { inv, services } = ctx;
    if (opts.action === 'delete' && opts.arg) {
      // A running request is cancelled; a finished one has its images removed from storage.
      await services.jobs.cancel(opts.arg, inv.user).catch(() => false);
      const n = await services.jobs.deleteResults(opts.arg, inv.user);
      if (n > 0) return { text: ctx.t('portrait.deleted_n', { count: n }), ephemeral: true };
      // Nothing left to delete: say so, and why when the retention sweep got there first.
      const left = await services.jobs.resultFiles(opts.arg, inv.user);
      return {
        text: left?.expired
          ? ctx.t('files.result_expired_delete', { age: keptFor(ctx.t) })
          : ctx.t('portrait.deleted'),
        ephemeral: true,
      };
    }
    // An attached image is a pose skeleton (OpenPose style); only one, and only when a worker runs
    // generation (whether it has the OpenPose ControlNet is the worker's answer: a clear error).
    const poseFile = inv.attachments[0];
    if (poseFile && !(await services.jobs.available('generate'))) {
      throw new NotAvailableError(
        'Pose-guided portraits',
        'Send /portrait without an image; this deployment has no pose pipeline installed.',
      );
    }
    if (inv.attachments.length > 1) throw new InputError('one_pose', ctx.t('portrait.one_pose'));
    // Reroll / more like this repeat the earlier request's style and count.
    const earlier =
      opts.arg && (opts.action === 'reroll' || opts.action === 'more')
        ? await services.jobs.requestOptions(opts.arg, inv.user)
        : undefined;
    const wanted =
      opts.style ?? (opts.action === 'style' ? opts.arg : (earlier?.userStyle ?? earlier?.style));
    // An uploaded style rides on the default pack (its base model, prompt and sampler).
    const own = await ownUserStyle(ctx, wanted);
    // After the uploaded-style check, so a refused style is reported even without an identity.
    const identity = await requireIdentity(ctx);
    const style = await resolveStyle(ctx, services, own ? undefined : wanted);
    const count =
      earlier?.count !== undefined && inv.options.count === undefined
        ? Math.min(6, earlier.count)
        : opts.count;
    const data: Record<string, unknown> = {
      mode: identity.status === 'trained' ? 'lora' : 'zero-shot',
      identityId: identity.id,
      style,
      count,
    };
    // Reroll = the same request with a fresh seed; "more like this" reuses the earlier seed family.
    if (own) data.userStyle = own.id;
    // Checked and stored last, after every refusal above, so a refused request stores nothing.
    if (poseFile)
      data.pose = await services.uploads.put(
        inv.user,
        poseFile.name,
        await fetchChecked(ctx, poseFile, 'image'),
      );
    if (opts.seed !== undefined) data.seed = opts.seed;
    else if (opts.action === 'more' && opts.arg) data.seed = seedFrom(opts.arg);
    const job = await services.jobs.enqueue({
      name: 'generate',
      data,
      user: inv.user,
      idempotencyKey: `${inv.platform}-${inv.id}`,
      replyTarget: inv.replyTarget,
    });
    return {
      text: ctx.t('portrait.queued', { count, style: own ? own.name : style }),
      track: { jobId: job.id, label: ctx.t('portrait.progress') },
    };
  },
});
