/**
 * Deliverer for jobs an operator added from the command line (reply target platform "cli"):
 * the reply goes to the log (text and artifact refs, never bytes); `facechain jobs status`
 * shows the result too.
 */
import { log } from '../base/log.ts';
import type { Deliverer } from './reply.ts';

const logger = log('deliver-cli');

export const logDeliverer: Deliverer = {
  async deliver(_target, reply, ctx) {
    logger.info(
      { requestId: ctx.requestId, text: reply.text, images: reply.images, error: reply.error?.code },
      'result for the command line',
    );
  },
};
