/**
 * Live previews of a generation for the chat: the engine's cheap latent preview
 * (core/diffusion/preview.ts) of the picture being denoised, at most every `intervalMs`, stored as
 * a small JPEG artifact of the user and named in the job's progress (the job layer carries a ref,
 * never bytes; front-ends read it and edit their message's picture). Each preview replaces the
 * one before; close() removes what is left, also after an error or a cancel. Previews go through
 * the same output safety check as results (core/safety): one it flags is not shown, and the
 * job shows none after it (a preview cannot be blurred the way a result is).
 */
import { log } from '../../base/log.ts';
import { encodeJpeg, type RgbImage, resizeRgb } from '../image/codec.ts';
import { flaggedPictures } from '../safety/classifier.ts';
import type { ArtifactStore } from '../storage/artifacts.ts';

const logger = log('generate');

/** Chat previews are shown small; 256 px keeps them a few kilobytes. */
export const PREVIEW_SIZE = 256;

export interface PreviewTask {
  artifacts: ArtifactStore;
  progress(stage: string, percent: number, extra?: { preview?: string }): void;
}

export class PreviewPublisher {
  private last = 0;
  private busy = false;
  private closed = false;
  private chain: Promise<void> = Promise.resolve();
  /** Stored previews, oldest first; the newest is the one the job's progress names. */
  private readonly stored: string[] = [];
  /** How many were published (tests, logs). */
  published = 0;
  /** The safety check flagged a preview: no more for this job. */
  stopped = false;

  constructor(
    private readonly task: PreviewTask,
    private readonly user: string,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
    /** True when the picture must not be shown: the output safety check, where one is installed. */
    private readonly flags: (image: RgbImage) => Promise<boolean> = async (image) =>
      (await flaggedPictures([image], 'preview')).length > 0,
  ) {}

  /** Offer the picture being made; published when the last one is old enough and none is being stored. */
  offer(image: RgbImage, stage: string, percent: number): void {
    if (this.closed || this.stopped || this.busy || this.now() - this.last < this.intervalMs) return;
    this.busy = true;
    this.last = this.now();
    this.chain = this.chain
      .then(() => this.publish(image, stage, percent))
      .catch((err) => logger.warn({ err: (err as Error).message }, 'preview not published'))
      .finally(() => {
        this.busy = false;
      });
  }

  private async publish(image: RgbImage, stage: string, percent: number): Promise<void> {
    const scale = PREVIEW_SIZE / Math.max(image.width, image.height);
    const small = await resizeRgb(
      image,
      Math.max(1, Math.round(image.width * scale)),
      Math.max(1, Math.round(image.height * scale)),
    );
    if (await this.flags(small)) {
      this.stopped = true;
      logger.info(
        { published: this.published },
        'preview withheld by the safety check; no more for this job',
      );
      return;
    }
    const { ref } = await this.task.artifacts.put(this.user, await encodeJpeg(small, { quality: 80 }), {
      ext: 'jpg',
    });
    if (this.closed) {
      await this.task.artifacts.delete(ref).catch(() => false);
      return;
    }
    this.task.progress(stage, percent, { preview: ref });
    this.published++;
    this.stored.push(ref);
    // Keep the one a front-end may be reading right now (the one before); delete older ones.
    while (this.stored.length > 2) {
      const old = this.stored.shift() as string;
      if (!this.stored.includes(old)) await this.task.artifacts.delete(old).catch(() => false);
    }
  }

  /** No more previews; removes every stored one. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    for (const ref of new Set(this.stored.splice(0)))
      await this.task.artifacts.delete(ref).catch(() => false);
  }
}
