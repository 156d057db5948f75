/**
 * Text commands ("/portrait cyberpunk 2 seed=7") → command name + raw options, for platforms
 * without typed options (Telegram, the web playground's command box). `key=value` sets a named
 * option; bare words fill each command's positional options in order; the last positional may
 * take the rest of the line (talk's text). The positions come from each command's option schema
 * (commands/kit/options.ts).
 */
import { findCommand } from '../index.ts';
import { positions } from './options.ts';

export function parseTextCommand(
  text: string,
): { command: string; options: Record<string, unknown> } | undefined {
  const m = /^\/([A-Za-z_]+)(?:@\w+)?(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (!m) return undefined;
  const command = m[1].toLowerCase();
  const options: Record<string, unknown> = {};
  const words = (m[2] ?? '').split(/\s+/).filter(Boolean);
  const known = findCommand(command);
  const positional = known ? positions(known) : [];
  let p = 0;
  for (let i = 0; i < words.length; i++) {
    const kv = /^([a-z]+)=(.*)$/.exec(words[i]);
    if (kv) {
      options[kv[1]] = kv[2];
      continue;
    }
    // A position that wants a certain shape (a result id) lets other words pass to the next one.
    while (positional[p]?.match && !positional[p].match?.test(words[i])) p++;
    const pos = positional[p++];
    if (!pos) continue;
    if (pos.rest) {
      options[pos.name] = words.slice(i).join(' ');
      break;
    }
    options[pos.name] = words[i];
  }
  return { command, options };
}
