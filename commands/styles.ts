/** Browse installed style packs, a page at a time, with preview images where packs have them. */
import { z } from 'zod';
import { button } from './kit/buttons.ts';
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
    const images: ReplyImage[] = slice
      .filter((s) => s.preview)
      .map((s) => ({ name: `${s.id}.jpg`, caption: s.name, ...s.preview }));
    const nav = [];
    if (page > 0) nav.push(button(ctx.t('styles.prev'), 'styles', 'page', page - 1));
    if (page < pages - 1) nav.push(button(ctx.t('styles.next'), 'styles', 'page', page + 1));
    const header = ctx.t('styles.page', {
      from: page * PAGE_SIZE + 1,
      to: page * PAGE_SIZE + slice.length,
      total: all.length,
    });
    return {
      text: [header, ...slice.map((s) => `• ${s.name} (${s.id})`)].join('\n'),
      select: {
        placeholder: ctx.t('styles.choose'),
        options: slice.map((s) => button(s.name, 'portrait', 'style', s.id)),
      },
      ...(images.length ? { images } : {}),
      ...(nav.length ? { buttons: [nav] } : {}),
    };
  },
});
