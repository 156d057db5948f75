/** A test double for the chat platform: records every delivery, can fail the first N calls. */
import { ServiceError } from '../../base/errors.ts';
import type { Deliverer, DeliveryContext, Reply, ReplyTarget } from '../../queue/reply.ts';

export class RecordingDeliverer implements Deliverer {
  readonly deliveries: Array<{ requestId: string; target: ReplyTarget; reply: Reply }> = [];
  calls = 0;
  constructor(private failFirst = 0) {}

  async deliver(target: ReplyTarget, reply: Reply, ctx: DeliveryContext): Promise<void> {
    this.calls++;
    if (this.failFirst > 0) {
      this.failFirst--;
      throw new ServiceError('upload_failed', 'platform upload failed (test)');
    }
    // Read the images like a real front-end would, so a missing artifact fails delivery.
    for (const ref of reply.images) await ctx.artifacts.read(ref);
    this.deliveries.push({ requestId: ctx.requestId, target, reply });
  }

  count(requestId: string): number {
    return this.deliveries.filter((d) => d.requestId === requestId).length;
  }
}
