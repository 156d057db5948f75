/**
 * discord.js builds its objects from gateway payloads without checking their shape: one
 * malformed INTERACTION_CREATE (a channel that is a string, an id that is not a snowflake) throws
 * inside its packet handler, an unhandled rejection that ends the process. Discord does not send
 * such payloads, but a proxy, a replay or a bug could, and one bad packet must not stop the bot
 * for everyone. The interaction action is wrapped: a payload discord.js cannot read is dropped
 * with a warning that names only the error's type (its message quotes the payload).
 */
import type { Client } from 'discord.js';
import { log } from '../../base/log.ts';

const logger = log('discord');

interface Action {
  handle(data: unknown): unknown;
}

export function guardInteractions(client: Client): void {
  // ActionsManager is discord.js's own (not in its typings); test/load/fuzz.test.ts checks this hook.
  const action = (client as unknown as { actions?: { InteractionCreate?: Action } }).actions
    ?.InteractionCreate;
  if (!action) {
    logger.warn('discord.js has no interaction action to guard; malformed interactions may stop the bot');
    return;
  }
  const handle = action.handle.bind(action);
  action.handle = (data: unknown) => {
    try {
      return handle(data);
    } catch (e) {
      logger.warn(
        { error: (e as Error)?.name ?? typeof e },
        'dropped an interaction discord.js could not read',
      );
      return undefined;
    }
  };
}
