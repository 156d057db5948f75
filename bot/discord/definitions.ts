/**
 * Slash command definitions (Discord's JSON), built from the command table: localized
 * descriptions (en-US, zh-CN), typed options, attachment options for photos (photo1..photo20:
 * Discord allows 25 options per command), autocomplete for styles.
 */
import { translate } from '../../base/i18n/index.ts';
import { COMMANDS } from '../../commands/index.ts';

const STRING = 3;
const INTEGER = 4;
const BOOLEAN = 5;
const ATTACHMENT = 11;

export interface OptionDef {
  type: number;
  name: string;
  description: string;
  required?: boolean;
  autocomplete?: boolean;
  min_value?: number;
  max_value?: number;
  max_length?: number;
  choices?: Array<{ name: string; value: string }>;
}

const photos = (n: number): OptionDef[] =>
  Array.from({ length: n }, (_, i) => ({
    type: ATTACHMENT,
    name: `photo${i + 1}`,
    description: i === 0 ? 'A clear photo of your face' : `Photo ${i + 1} (optional)`,
    required: i === 0,
  }));

const choice = (...values: string[]) => values.map((v) => ({ name: v, value: v }));

/** Options per command; the names match the commands' zod schemas. */
export const OPTIONS: Record<string, OptionDef[]> = {
  consent: [
    {
      type: STRING,
      name: 'action',
      description: 'Show, accept or revoke',
      choices: choice('show', 'accept', 'revoke'),
    },
  ],
  train: photos(20),
  portrait: [
    { type: STRING, name: 'style', description: 'Style pack', autocomplete: true },
    { type: INTEGER, name: 'count', description: 'How many portraits (1-6)', min_value: 1, max_value: 6 },
    {
      type: INTEGER,
      name: 'seed',
      description: 'Seed for repeatable results',
      min_value: 0,
      max_value: 2 ** 31,
    },
    { type: ATTACHMENT, name: 'pose', description: 'Optional pose image' },
  ],
  styles: [{ type: INTEGER, name: 'arg', description: 'Page (from 0)', min_value: 0 }],
  template: [
    { type: ATTACHMENT, name: 'photo', description: 'The template photo', required: true },
    { type: INTEGER, name: 'count', description: 'How many (1-6)', min_value: 1, max_value: 6 },
  ],
  mystyle: [
    {
      type: STRING,
      name: 'action',
      description: 'List, upload or delete',
      choices: choice('list', 'upload', 'delete'),
    },
    { type: ATTACHMENT, name: 'lora', description: 'An SD 1.5 style LoRA (.safetensors)' },
    { type: STRING, name: 'arg', description: 'Style id (delete)' },
    { type: STRING, name: 'name', description: 'Name for the uploaded style', max_length: 60 },
  ],
  tryon: [{ type: ATTACHMENT, name: 'garment', description: 'A photo of the garment', required: true }],
  talk: [
    { type: STRING, name: 'result', description: 'Result id to animate (see /status)', required: true },
    { type: STRING, name: 'text', description: 'Text to speak', max_length: 500 },
    { type: STRING, name: 'voice', description: 'Voice name' },
    { type: ATTACHMENT, name: 'audio', description: 'Or a voice message / audio file' },
  ],
  cancel: [{ type: STRING, name: 'id', description: 'Job id (all your jobs when empty)' }],
  settings: [
    {
      type: STRING,
      name: 'language',
      description: 'Language',
      choices: [
        { name: 'English', value: 'en' },
        { name: '简体中文', value: 'zh-CN' },
      ],
    },
    { type: STRING, name: 'style', description: 'Default style', autocomplete: true },
    { type: BOOLEAN, name: 'private', description: 'Deliver results by direct message' },
  ],
  group: [
    {
      type: STRING,
      name: 'action',
      description: 'What to do',
      required: true,
      choices: choice('show', 'style', 'join', 'leave', 'photo', 'picture'),
    },
    { type: STRING, name: 'arg', description: 'Style id (style) or result id (picture)', autocomplete: true },
    { type: ATTACHMENT, name: 'template', description: 'Group template photo (photo; else the last one)' },
  ],
};

/** Attachment option names → these become invocation attachments, not options. */
export const ATTACHMENT_OPTIONS = new Set(
  Object.values(OPTIONS)
    .flat()
    .filter((o) => o.type === ATTACHMENT)
    .map((o) => o.name),
);

export function commandDefinitions(): Array<Record<string, unknown>> {
  return COMMANDS.filter((c) => c.listed).flatMap((c) =>
    [c.name, ...(c.aliases ?? [])].map((name) => ({
      name,
      type: 1,
      description: translate('en', c.description).slice(0, 100),
      description_localizations: { 'zh-CN': translate('zh-CN', c.description).slice(0, 100) },
      options: OPTIONS[c.name] ?? [],
      // Usable in servers, bot DMs and private channels.
      contexts: [0, 1, 2],
      integration_types: [0],
    })),
  );
}
