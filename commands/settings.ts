/** Language, default style and private delivery. */
import { z } from 'zod';
import { InputError } from '../base/errors.ts';
import { LOCALES, resolveLocale, translate } from '../base/i18n/index.ts';
import type { UserProfile } from './kit/services.ts';
import { defineCommand } from './kit/types.ts';

const LANGUAGE_NAMES: Record<(typeof LOCALES)[number], string> = { en: 'English', 'zh-CN': '简体中文' };

const bool = z.union([z.boolean(), z.enum(['on', 'off', 'yes', 'no', 'true', 'false'])]).transform((v) => {
  return typeof v === 'boolean' ? v : v === 'on' || v === 'yes' || v === 'true';
});

export const settings = defineCommand({
  name: 'settings',
  order: 13,
  description: 'cmd.settings',
  options: z.object({
    language: z
      .string()
      .max(10)
      .optional()
      .meta({
        describe: 'opt.settings.language',
        choices: [
          { value: 'en', label: 'English' },
          { value: 'zh-CN', label: '简体中文' },
        ],
      }),
    style: z.string().max(80).optional().meta({ describe: 'opt.settings.style', autocomplete: true }),
    private: bool.optional().meta({ describe: 'opt.settings.private' }),
  }),
  needsConsent: false,
  listed: true,
  async run(ctx, opts) {
    const { services, inv } = ctx;
    const patch: Partial<UserProfile> = {};
    if (opts.language !== undefined) {
      const l = opts.language.toLowerCase();
      if (!l.startsWith('zh') && !l.startsWith('en')) {
        throw new InputError('bad_language', `Language must be one of: ${LOCALES.join(', ')}.`, {
          context: { languages: LOCALES.join(', ') },
        });
      }
      patch.locale = resolveLocale(l);
    }
    if (opts.style !== undefined) {
      const all = await services.styles.list();
      if (!all.some((s) => s.id === opts.style)) {
        throw new InputError('unknown_style', ctx.t('portrait.unknown_style', { style: opts.style }));
      }
      patch.defaultStyle = opts.style;
    }
    if (opts.private !== undefined) patch.privateDelivery = opts.private;
    if (Object.keys(patch).length > 0) {
      await services.profiles.update(inv.user, patch);
      // Answer in the language just chosen.
      return { text: translate(resolveLocale(patch.locale, ctx.locale), 'settings.saved'), ephemeral: true };
    }
    const p = await services.profiles.get(inv.user);
    return {
      text: ctx.t('settings.show', {
        // The language by its own name, as the menu offers it.
        locale: LANGUAGE_NAMES[ctx.locale],
        style: p.defaultStyle ?? ctx.t('settings.unset'),
        private: ctx.t(p.privateDelivery ? 'settings.yes' : 'settings.no'),
      }),
      ephemeral: true,
    };
  },
});
