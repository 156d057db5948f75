/** The command table: every command the front-ends offer, by name and alias. */
import { cancel } from './cancel.ts';
import { consent } from './consent.ts';
import { forget } from './forget.ts';
import { group } from './group.ts';
import { help, setHelpListing } from './help.ts';
import { mystyle } from './mystyle.ts';
import { portrait } from './portrait.ts';
import { settings } from './settings.ts';
import { start } from './start.ts';
import { status } from './status.ts';
import { styles } from './styles.ts';
import { talk } from './talk.ts';
import { template } from './template.ts';
import { train } from './train.ts';
import { tryon } from './tryon.ts';
import type { Command } from './types.ts';

export const COMMANDS: Command[] = [
  start,
  help,
  consent,
  train,
  portrait,
  styles,
  mystyle,
  template,
  tryon,
  talk,
  status,
  cancel,
  settings,
  forget,
  group,
] as Command[];

setHelpListing(() => COMMANDS);

const byName = new Map<string, Command>();
for (const c of COMMANDS) for (const n of [c.name, ...(c.aliases ?? [])]) byName.set(n, c);

export function findCommand(name: string): Command | undefined {
  return byName.get(name.toLowerCase());
}
