/**
 * A command's options are written once (its zod schema); the Discord definitions and the text
 * parser are derived from it. These checks hold for every command, so a new option cannot be
 * offered in one place and refused in another.
 */
import { describe, expect, it } from 'vitest';
import { en } from '../../base/i18n/en.ts';
import { zhCN } from '../../base/i18n/zh-CN.ts';
import { commandDefinitions } from '../../bot/discord/definitions.ts';
import { COMMANDS, findCommand } from '../../commands/index.ts';
import { attachmentNames, optionInfo, positionalNames } from '../../commands/kit/options.ts';
import { parseTextCommand } from '../../commands/kit/parse-text.ts';

type Def = {
  name: string;
  type: number;
  required?: boolean;
  choices?: Array<{ value: string }>;
  min_value?: number;
  max_value?: number;
  max_length?: number;
  description: string;
};

describe('command options: one source', () => {
  const defs = commandDefinitions();

  it('every Discord option is a schema field or a declared attachment, with the schema bounds and choices', () => {
    for (const d of defs) {
      const c = findCommand(d.name as string)!;
      const fields = new Map(optionInfo(c).map((o) => [o.name, o]));
      const files = new Set((c.attachments ?? []).flatMap(attachmentNames));
      for (const o of d.options as Def[]) {
        if (o.type === 11) {
          expect(files.has(o.name), `${d.name} ${o.name}`).toBe(true);
          continue;
        }
        const f = fields.get(o.name);
        expect(f, `${d.name} ${o.name}`).toBeDefined();
        expect(f!.meta.hidden, `${d.name} ${o.name} is hidden`).toBeFalsy();
        if (f!.kind === 'choice') expect(o.choices?.map((x) => x.value)).toEqual(f!.choices);
        if (o.min_value !== undefined) expect(o.min_value).toBe(f!.min);
        if (o.max_value !== undefined) expect(o.max_value).toBe(f!.max);
        if (o.max_length !== undefined) expect(o.max_length).toBe(f!.maxLength);
        // A required menu option must be one the schema accepts, and the schema's own required
        // fields must be required in the menu.
        if (f!.required) expect(o.required).toBe(true);
      }
      // Required options come first, as Discord demands.
      const req = (d.options as Def[]).map((o) => Boolean(o.required));
      expect(req).toEqual([...req].sort((a, b) => Number(b) - Number(a)));
    }
  });

  it('every offered option is described in English and Chinese', () => {
    for (const c of COMMANDS) {
      for (const o of optionInfo(c)) {
        if (o.meta.hidden) continue;
        expect(o.meta.describe, `${c.name}.${o.name}`).toBeDefined();
        expect(Object.hasOwn(en, o.meta.describe!), o.meta.describe).toBe(true);
        expect(Object.hasOwn(zhCN, o.meta.describe!), o.meta.describe).toBe(true);
      }
      for (const a of c.attachments ?? []) expect(Object.hasOwn(en, a.describe), a.describe).toBe(true);
    }
  });

  it('text positions name schema fields, and a parsed text command passes the schema', () => {
    for (const c of COMMANDS) {
      const fields = new Set(optionInfo(c).map((o) => o.name));
      for (const p of positionalNames(c))
        expect(fields.has(p.replace(/^\.\.\./, '')), `${c.name} ${p}`).toBe(true);
    }
    const portrait = parseTextCommand('/portrait neon 2 7')!;
    expect(portrait.options).toEqual({ style: 'neon', count: '2', seed: '7' });
    expect(findCommand('portrait')!.options.parse(portrait.options)).toMatchObject({
      style: 'neon',
      count: 2,
      seed: 7,
    });
    const talk = parseTextCommand('/talk tg-1 hello there, world')!;
    expect(talk.options).toEqual({ result: 'tg-1', text: 'hello there, world' });
    expect(parseTextCommand('/group style neon')!.options).toEqual({ action: 'style', arg: 'neon' });
    // Out of range in text is refused by the same schema Discord's bounds come from.
    expect(
      findCommand('portrait')!.options.safeParse(parseTextCommand('/portrait neon 9')!.options).success,
    ).toBe(false);
  });

  it('Discord descriptions are localized from the catalogs', () => {
    const portrait = defs.find((d) => d.name === 'portrait')!;
    const style = (
      portrait.options as Array<Def & { description_localizations: Record<string, string> }>
    ).find((o) => o.name === 'style')!;
    expect(style.description).toBe(en['opt.portrait.style']);
    expect(style.description_localizations['zh-CN']).toBe(zhCN['opt.portrait.style']);
  });
});
