/**
 * Button ids are `command:action[:arg]`, short enough for Telegram's 64-byte callback_data and
 * Discord's 100-character custom_id. A press becomes an ordinary invocation of that command.
 */
import type { Button } from './types.ts';

const MAX_BYTES = 64;

export function buttonId(command: string, action: string, arg?: string | number): string {
  const id = arg === undefined ? `${command}:${action}` : `${command}:${action}:${arg}`;
  if (Buffer.byteLength(id) > MAX_BYTES) throw new Error(`button id too long: ${id}`);
  return id;
}

export function button(
  label: string,
  command: string,
  action: string,
  arg?: string | number,
  style?: Button['style'],
): Button {
  return { id: buttonId(command, action, arg), label, ...(style ? { style } : {}) };
}

export function parseButtonId(id: string): { command: string; options: Record<string, unknown> } | undefined {
  const m = /^([a-z]+):([a-z-]+)(?::(.+))?$/.exec(id);
  if (!m) return undefined;
  return { command: m[1], options: m[3] === undefined ? { action: m[2] } : { action: m[2], arg: m[3] } };
}
