/**
 * The command table: every command file in this folder (one command each), by name and alias.
 * Files are found, not listed, so adding a command is its own file plus its catalog lines;
 * `order` places it in menus and /help. What commands share lives in kit/.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setHelpListing } from './help.ts';
import type { Command } from './kit/types.ts';

function isCommand(v: unknown): v is Command {
  const c = v as Partial<Command> | null;
  return (
    typeof c?.name === 'string' && typeof c.run === 'function' && typeof c.options?.safeParse === 'function'
  );
}

async function discover(): Promise<Command[]> {
  const dir = new URL('./', import.meta.url);
  const files = readdirSync(fileURLToPath(dir))
    .filter((f) => /^[a-z-]+\.ts$/.test(f) && f !== 'index.ts')
    .sort();
  const found: Command[] = [];
  for (const f of files)
    for (const v of Object.values(await import(new URL(f, dir).href))) if (isCommand(v)) found.push(v);
  return found.sort((a, b) => (a.order ?? 1000) - (b.order ?? 1000) || a.name.localeCompare(b.name));
}

export const COMMANDS: Command[] = await discover();

setHelpListing(() => COMMANDS);

const byName = new Map<string, Command>();
for (const c of COMMANDS) for (const n of [c.name, ...(c.aliases ?? [])]) byName.set(n, c);

export function findCommand(name: string): Command | undefined {
  return byName.get(name.toLowerCase());
}
