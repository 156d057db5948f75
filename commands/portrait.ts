/**
 * Portraits in a style. Checks the identity and style, enqueues `generate`; results come back
 * through delivery with the buttons from `resultButtons`.
 */
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { InputError, NotAvailableError } from '../base/errors.ts';
import { fetchChecked } from './kit/attachments.ts';
import { button } from './kit/buttons.ts';
import { enqueueFor } from './kit/enqueue.ts';
import { keptFor, storedResult } from './kit/results.ts';
import { type IdentityView, type Services, styleText } from './kit/services.ts';
import { type Button, type CommandContext, type CommandReply, defineCommand } from './kit/types.ts';
import { userStylesOff } from './mystyle.ts';

/** What a user can do with a delivered result (a job declares which of these its results get). */
export const RESULT_ACTIONS = ['reroll', 'vary', 'upscale', 'animate', 'tryon', 'info', 'delete'] as const;
export type ResultAction = (typeof RESULT_ACTIONS)[number];

/** "Vary" strengths offered as buttons: a subtle and a strong variation of the best picture. */
export const VARY = { subtle: 0.25, strong: 0.6 } as const;

/** The buttons under a result, in the user's language: making rows, then using rows. */
export function resultButtons(
  t: CommandContext['t'],
  jobId: string,
  actions: readonly ResultAction[] = RESULT_ACTIONS,
): Button[][] {
  const has = (a: ResultAction) => actions.includes(a);
  const pct = (s: number) => Math.round(s * 100);
  const make = [
    ...(has('reroll') ? [button(t('portrait.reroll'), 'portrait', 'reroll', jobId)] : []),
    ...(has('vary')
      ? [
          button(t('portrait.vary_subtle', { strength: pct(VARY.subtle) }), 'portrait', 'vary', jobId),
          button(t('portrait.vary_strong', { strength: pct(VARY.strong) }), 'portrait', 'vary-strong', jobId),
        ]
      : []),
    ...(has('upscale') ? [button(t('portrait.upscale'), 'portrait', 'upscale', jobId)] : []),
  ];
  const use = [
    ...(has('animate') ? [button(t('portrait.animate'), 'talk', 'animate', jobId)] : []),
    ...(has('tryon') ? [button(t('portrait.tryon'), 'tryon', 'ask', jobId)] : []),
    ...(has('info') ? [button(t('portrait.info'), 'portrait', 'info', jobId)] : []),
    ...(has('delete') ? [button(t('portrait.delete'), 'portrait', 'delete', jobId, 'danger')] : []),
  ];
  return [make, use].filter((row) => row.length > 0);
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
  const lower = id.toLowerCase();
  // By id, or by its name in any language the pack has ("霓虹夜景" finds neon-night).
  const hit = styles.find(
    (s) => s.id === id || [s.name, ...Object.values(s.names ?? {})].some((n) => n?.toLowerCase() === lower),
  );
  if (!hit) throw new InputError('unknown_style', ctx.t('portrait.unknown_style', { style: id }));
  return hit.id;
}

/** A style's name in the user's language (its id when it is not installed). */
async function styleName(ctx: CommandContext, services: Services, id: string): Promise<string> {
  const hit = (await services.styles.list()).find((s) => s.id === id);
  return hit ? styleText(hit, ctx.locale).name : id;
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
  if (!ctx.policy.userStyles) {
    if (USER_STYLE_ID.test(wanted)) throw userStylesOff();
    return undefined;
  }
  const mine = await ctx.services.userStyles.list(ctx.inv.user);
  const hit = mine.find((s) => s.id === wanted || s.name.toLowerCase() === wanted.toLowerCase());
  if (hit) return { id: hit.id, name: hit.name };
  if (USER_STYLE_ID.test(wanted))
    throw new InputError('not_your_style', ctx.t('mystyle.not_yours', { id: wanted }));
  return undefined;
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
    .meta({ describe: 'opt.portrait.count', positional: 1, match: /^\d+$/ }),
  seed: z.coerce
    .number()
    .int()
    .min(0)
    .max(2 ** 31)
    .optional()
    .meta({ describe: 'opt.portrait.seed', positional: 2, match: /^\d+$/ }),
  /** Words added to the style's prompt ("/portrait neon-night smiling, red scarf"). */
  prompt: z
    .string()
    .trim()
    .min(1)
    .max(300)
    .optional()
    .meta({ describe: 'opt.portrait.prompt', positional: 'rest' }),
  /** How far a variation moves from the picture (0.05 = almost the same, 1 = a new picture). */
  strength: z.coerce.number().min(0.05).max(1).optional().meta({ describe: 'opt.portrait.strength' }),
  action: z
    .enum(['make', 'style', 'reroll', 'more', 'vary', 'vary-strong', 'upscale', 'info', 'delete'])
    .default('make')
    .meta({ hidden: true }),
  /** The earlier job a button refers to. */
  arg: z.string().max(60).optional().meta({ hidden: true }),
});

type Options = z.infer<typeof options>;

/** The user's finished portrait request `id` (its result), or a clear "no such result". */
async function finishedPortrait(ctx: CommandContext, id: string): Promise<GenerateResultView> {
  const done = await ctx.services.jobs.completed(id, ctx.inv.user);
  if (done?.name !== 'generate') throw new InputError('no_result', ctx.t('portrait.no_result', { id }));
  return done.result as GenerateResultView;
}

/** What a finished `generate` job's result says about how it was made (older results say less). */
interface GenerateResultView {
  images: string[];
  scores: number[];
  seeds?: number[];
  variationSeeds?: number[];
  strength?: number;
  sampler?: string;
  steps?: number;
  width?: number;
  height?: number;
  method?: string;
}

/** The info action: seed, style, sampler, steps and size of a result, and its likeness. */
async function info(ctx: CommandContext, id: string): Promise<CommandReply> {
  const r = await finishedPortrait(ctx, id);
  const earlier = await ctx.services.jobs.requestOptions(id, ctx.inv.user);
  const unknown = ctx.t('settings.unset');
  const lines = [
    ctx.t('portrait.info_text', {
      seed: r.seeds?.[0] ?? unknown,
      style: earlier?.style ?? unknown,
      sampler: r.sampler ?? unknown,
      steps: r.steps ?? unknown,
      size: r.width && r.height ? `${r.width}×${r.height}` : unknown,
    }),
  ];
  if (r.strength !== undefined && r.variationSeeds?.[0] !== undefined)
    lines.push(
      ctx.t('portrait.info_variation', { seed: r.variationSeeds[0], strength: Math.round(r.strength * 100) }),
    );
  if (r.method === 'style-only') lines.push(ctx.t('portrait.info_style_only'));
  if (r.scores[0] !== undefined)
    lines.push(ctx.t('result.likeness', { n: 1, percent: Math.max(0, Math.round(r.scores[0] * 100)) }));
  return { text: lines.join('\n'), ephemeral: true };
}

/** Upscale: the best picture of a result, redrawn larger by the engine's img2img where it runs. */
async function upscale(ctx: CommandContext, id: string): Promise<CommandReply> {
  const { services, inv } = ctx;
  const images = await storedResult(
    ctx,
    id,
    () => new InputError('no_result', ctx.t('portrait.no_result', { id })),
  );
  if (!(await services.jobs.available('upscale')))
    throw new NotAvailableError(
      'Upscaling',
      'It runs where portrait generation runs (a worker with a Stable Diffusion 1.5 model); this deployment has none.',
    );
  const earlier = await services.jobs.requestOptions(id, inv.user);
  // The face to measure the likeness against, when the user still has one.
  const face = await requireIdentity(ctx).catch(() => undefined);
  const job = await enqueueFor(ctx, 'upscale', {
    image: images[0],
    ...(earlier?.style ? { style: earlier.style } : {}),
    ...(face ? { identityId: face.id } : {}),
  });
  return {
    text: ctx.t('portrait.upscale_queued'),
    track: { jobId: job.id, label: ctx.t('portrait.upscale') },
  };
}

/** How a "vary" press or option asks for its strength. */
function varyStrength(opts: Options): number | undefined {
  if (opts.action === 'vary' || opts.action === 'more') return opts.strength ?? VARY.subtle;
  if (opts.action === 'vary-strong') return opts.strength ?? VARY.strong;
  return undefined;
}

export const portrait = defineCommand({
  name: 'portrait',
  order: 5,
  description: 'cmd.portrait',
  options,
  attachments: [{ name: 'pose', describe: 'opt.portrait.pose' }],
  needsConsent: true,
  listed: true,
  // Making pictures in a group waits for the group's opt-in; deleting one's own result never does.
  groupFeature: (o) => o.action !== 'delete',
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
    if (opts.action === 'info' && opts.arg) return info(ctx, opts.arg);
    if (opts.action === 'upscale' && opts.arg) return upscale(ctx, opts.arg);
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
    const strength = varyStrength(opts);
    // Reroll and vary repeat the earlier request's style and count; vary starts from its best picture.
    const again = opts.arg && (opts.action === 'reroll' || strength !== undefined) ? opts.arg : undefined;
    const earlier = again ? await services.jobs.requestOptions(again, inv.user) : undefined;
    const base =
      again && strength !== undefined ? (await finishedPortrait(ctx, again)).seeds?.[0] : undefined;
    if (again && strength !== undefined && base === undefined)
      throw new InputError('no_result', ctx.t('portrait.no_result', { id: again }));
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
    if (own) data.userStyle = own.id;
    // The user's own words (checked against the operator's blocklist by the dispatcher).
    const prompt = opts.prompt ?? (again ? earlier?.prompt : undefined);
    if (prompt) data.prompt = prompt;
    // Checked and stored last, after every refusal above, so a refused request stores nothing.
    if (poseFile)
      data.pose = await services.uploads.put(
        inv.user,
        poseFile.name,
        await fetchChecked(ctx, poseFile, 'image'),
      );
    // Reroll = the same request with a fresh seed; vary = the best picture's seed, new variation noise.
    if (base !== undefined && strength !== undefined) {
      data.seed = base;
      data.variation = { seed: randomInt(2 ** 31), strength };
    } else if (opts.seed !== undefined) data.seed = opts.seed;
    const job = await enqueueFor(ctx, 'generate', data);
    const text =
      strength !== undefined
        ? ctx.t('portrait.vary_queued', { count, strength: Math.round(strength * 100) })
        : ctx.t('portrait.queued', { count, style: own ? own.name : await styleName(ctx, services, style) });
    return { text, track: { jobId: job.id, label: ctx.t('portrait.progress') } };
  },
});
