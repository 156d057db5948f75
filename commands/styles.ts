/**
 * Browse installed style packs, a page at a time: each style's name and description in the
 * user's language, its preview picture where the pack has one (`facechain styles previews` makes
 * them on a GPU host), and a plain note where it has none, never an empty gallery.
 */
import { z } from 'zod';
import { button } from './kit/buttons.ts';
import { styleText } from './kit/services.ts';
import type { ReplyImage } from './kit/types.ts';
import { defineCommand } from './kit/types.ts';

export const PAGE_SIZE = 5;

const options = z.object({
  action: z.enum(['page']).default('page').meta({ hidden: true }),
  arg: z.coerce.number().int().min(0).default(0).meta({ describe: 'opt.styles.page', positional: 0 }),
});

export const styles = defineCommand({
  name: 'styles',
  order: 6,
  description: 'cmd.styles',
  options,
  needsConsent: false,
  listed: true,
  async run(ctx, opts) {
    const all = await ctx.services.styles.list();
    if (all.length === 0) return { text: ctx.t('styles.none') };
    const pages = Math.ceil(all.length / PAGE_SIZE);
    const page = Math.min(opts.arg, pages - 1);
    const slice = all.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
    const shown = slice.map((s) => ({ s, ...styleText(s, ctx.locale) }));
    const images: ReplyImage[] = shown
      .filter(({ s }) => s.preview)
      .map(({ s, name }) => ({ name: `${s.id}.jpg`, caption: name, ...s.preview }));
    const nav = [];
    if (page > 0) nav.push(button(ctx.t('styles.prev'), 'styles', 'page', page - 1));
    if (page < pages - 1) nav.push(button(ctx.t('styles.next'), 'styles', 'page', page + 1));
    const header = ctx.t('styles.page', {
      from: page * PAGE_SIZE + 1,
      to: page * PAGE_SIZE + slice.length,
      total: all.length,
    });
    const lines = shown.map(({ s, name, description }) => {
      const about = description ? ` — ${description}` : '';
      // Said per style, so a gallery with some pictures still says which have none.
      const missing = s.preview || images.length === 0 ? '' : ` ${ctx.t('styles.no_preview')}`;
      return `• ${name} (${s.id})${about}${missing}`;
    });
    return {
      text: [header, ...lines, ...(images.length === 0 ? [ctx.t('styles.no_previews')] : [])].join('\n'),
      select: {
        placeholder: ctx.t('styles.choose'),
        options: shown.map(({ s, name }) => button(name, 'portrait', 'style', s.id)),
      },
      ...(images.length ? { images } : {}),
      ...(nav.length ? { buttons: [nav] } : {}),
    };
  },
});
