/**
 * The user's own style LoRAs: upload a `.safetensors` file (validated as an SD 1.5 LoRA and
 * stored for this user only), list them, delete one. Using one is `/portrait <id or name>`;
 * nobody else can see or use it.
 */
import { z } from 'zod';
import { InputError, NotAvailableError } from '../base/errors.ts';
import { config } from '../core/config.ts';
import { mb } from './kit/attachments.ts';
import { button } from './kit/buttons.ts';
import type { CommandContext, CommandReply } from './kit/types.ts';
import { defineCommand } from './kit/types.ts';

const options = z.object({
  action: z
    .enum(['list', 'upload', 'delete'])
    .optional()
    .meta({ describe: 'opt.mystyle.action', positional: 0 }),
  /** The style id (delete). */
  arg: z.string().max(60).optional().meta({ describe: 'opt.mystyle.arg', positional: 1 }),
  /** Display name for an upload (default: the file name). */
  name: z.string().min(1).max(60).optional().meta({ describe: 'opt.mystyle.name' }),
  strength: z.coerce.number().min(0).max(2).optional().meta({ hidden: true }),
});

/** The answer when the operator turned uploaded styles off. */
export function userStylesOff(): NotAvailableError {
  return new NotAvailableError(
    'Uploaded styles',
    'The operator turned them off on this deployment; choose one of the installed styles (/styles).',
  );
}

async function upload(ctx: CommandContext, opts: z.infer<typeof options>): Promise<CommandReply> {
  const { inv, services } = ctx;
  const file = inv.attachments[0];
  if (!file) return { text: ctx.t('mystyle.need_file'), ephemeral: true };
  if (!/\.safetensors$/i.test(file.name))
    throw new InputError('not_safetensors', ctx.t('mystyle.not_safetensors', { name: file.name }));
  const limit = config().FACECHAIN_MAX_LORA_BYTES;
  const tooBig = (size: number) =>
    new InputError('lora_too_large', ctx.t('mystyle.too_big', { size: mb(size), limit: mb(limit) }));
  // Checked before the download when the platform reports a size, and again on the real bytes.
  if (file.size !== undefined && file.size > limit) throw tooBig(file.size);
  const bytes = await file.fetch();
  if (bytes.byteLength > limit) throw tooBig(bytes.byteLength);
  let style: Awaited<ReturnType<typeof services.userStyles.add>>;
  try {
    style = await services.userStyles.add(inv.user, bytes, {
      name: opts.name ?? file.name.replace(/\.safetensors$/i, ''),
      ...(opts.strength !== undefined ? { multiplier: opts.strength } : {}),
    });
  } catch (e) {
    // The store's reason (wrong base, not a LoRA, too many...) with a localized lead.
    if (e instanceof InputError)
      throw new InputError(e.code, ctx.t('mystyle.rejected', { name: file.name, reason: e.message }));
    throw e;
  }
  return {
    text: ctx.t('mystyle.stored', {
      name: style.name,
      id: style.id,
      layers: style.layers.unet + style.layers.textEncoder,
      rank: style.rank,
    }),
    buttons: [[button(ctx.t('mystyle.use'), 'portrait', 'style', style.id, 'primary')]],
  };
}

export const mystyle = defineCommand({
  name: 'mystyle',
  order: 7,
  description: 'cmd.mystyle',
  options,
  // An upload is the user's data: nothing is downloaded or listed before consent.
  attachments: [{ name: 'lora', describe: 'opt.mystyle.lora' }],
  needsConsent: true,
  listed: true,
  async run(ctx, opts) {
    const { inv, services } = ctx;
    // Turned off by the operator (FACECHAIN_USER_STYLES_ENABLED=false): nothing is downloaded.
    if (!ctx.policy.userStyles) throw userStylesOff();
    const action = opts.action ?? (inv.attachments.length ? 'upload' : 'list');
    if (action === 'upload') return upload(ctx, opts);
    if (action === 'delete') {
      if (!opts.arg) return { text: ctx.t('mystyle.need_id'), ephemeral: true };
      const ok = await services.userStyles.remove(inv.user, opts.arg);
      if (!ok) throw new InputError('unknown_user_style', ctx.t('mystyle.unknown', { id: opts.arg }));
      return { text: ctx.t('mystyle.deleted', { id: opts.arg }), ephemeral: true };
    }
    const mine = await services.userStyles.list(inv.user);
    if (mine.length === 0) return { text: ctx.t('mystyle.none'), ephemeral: true };
    return {
      text: [
        ctx.t('mystyle.list', { count: mine.length }),
        ...mine.map((s) => `• ${s.name} (${s.id}), ×${s.multiplier}, ${mb(s.bytes)} MB`),
      ].join('\n'),
      buttons: mine.map((s) => [
        button(`${ctx.t('mystyle.use')}: ${s.name}`.slice(0, 60), 'portrait', 'style', s.id),
        button(ctx.t('mystyle.delete'), 'mystyle', 'delete', s.id, 'danger'),
      ]),
      ephemeral: true,
    };
  },
});
