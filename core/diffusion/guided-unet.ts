/**
 * One guided model call per denoising step for a group of images: the group's scaled latents in
 * CFG rows ([uncond × g, cond × g], diffusers' order; [cond × g] without guidance), the text
 * embeddings, inpainting channels, ControlNet residuals and the identity inputs, then CFG applied
 * per image. Buffers are made once per group size and reused at every step.
 */
import type { Tensor } from '../../models/onnx.ts';
import type { ControlInput } from './controlnet.ts';
import { applyGuidance } from './guidance.ts';
import type { InitLatents } from './init-image.ts';
import type { Scheduler } from './schedulers/index.ts';
import type { PromptEmbedding } from './text-encoder.ts';
import type { Residuals, UnetRunner } from './unet.ts';

/** Extra UNet inputs for `batch` rows of `images` images (FACT's face tokens, a LoRA switcher's weights). */
export type IdentityInputs = (info: { batch: number; images: number }) => Record<string, Tensor> | undefined;

/**
 * The identity stage: who the picture is of reaches the UNet through its extra inputs, asked of
 * the caller once per batch size (nothing is asked when the UNet has no such inputs).
 */
export function identityInputs(
  unet: UnetRunner,
  provide?: (info: { batch: number; images: number }) => Record<string, Tensor>,
): IdentityInputs {
  return (info) => (unet.otherInputs.length ? provide?.(info) : undefined);
}

export interface GuidedUnetOptions {
  unet: UnetRunner;
  controls: ControlInput[];
  cond: PromptEmbedding;
  uncond: PromptEmbedding;
  guidance: number;
  rescale: number;
  /** Latent height and width. */
  h: number;
  w: number;
  /** Mask and masked-image latents, fed as channels 4..8 of a 9-channel UNet. */
  image?: InitLatents;
  identity: IdentityInputs;
}

interface GroupBuffers {
  rows: number;
  ehs: Float32Array;
  unetIn: Float32Array;
  ctrlIn: Float32Array;
  extra?: Record<string, Tensor>;
  residuals?: Residuals;
  eps: Float32Array[];
}

export class GuidedUnet {
  private readonly perSize = new Map<number, GroupBuffers>();

  constructor(private readonly o: GuidedUnetOptions) {}

  /** CFG runs when the guidance scale is above 1 (diffusers' rule). */
  get guided(): boolean {
    return this.o.guidance > 1;
  }

  private buffers(g: number): GroupBuffers {
    const hit = this.perSize.get(g);
    if (hit) return hit;
    const { unet, cond, uncond, image } = this.o;
    const hw = this.o.h * this.o.w;
    const C = unet.inChannels;
    const rows = this.guided ? 2 * g : g;
    const L = cond.data.length;
    const ehs = new Float32Array(rows * L);
    for (let r = 0; r < rows; r++) ehs.set(this.guided && r < g ? uncond.data : cond.data, r * L);
    const unetIn = new Float32Array(rows * C * hw);
    const ctrlIn = C === 4 ? unetIn : new Float32Array(rows * 4 * hw);
    if (C === 9)
      for (let r = 0; r < rows; r++) {
        unetIn.set(image!.mask!, (r * C + 4) * hw);
        unetIn.set(image!.masked!, (r * C + 5) * hw);
      }
    const extra = this.o.identity({ batch: rows, images: g });
    const eps = Array.from({ length: g }, () => new Float32Array(4 * hw));
    const b: GroupBuffers = { rows, ehs, unetIn, ctrlIn, extra, eps };
    this.perSize.set(g, b);
    return b;
  }

  /** Guided epsilon for each of the group's g scaled inputs at step i of `scheduler`'s timesteps. */
  predictor(g: number, scheduler: Scheduler): (inputs: Float32Array[], i: number) => Promise<Float32Array[]> {
    const buf = this.buffers(g);
    const { unet, controls, cond, h, w } = this.o;
    const C = unet.inChannels;
    const hw = h * w;
    const n4 = 4 * hw;
    return async (inputs, i) => {
      const t = scheduler.timesteps[i];
      for (let r = 0; r < buf.rows; r++) {
        const input = inputs[r % g];
        buf.unetIn.set(input, r * C * hw);
        if (buf.ctrlIn !== buf.unetIn) buf.ctrlIn.set(input, r * n4);
      }
      for (let c = 0; c < controls.length; c++)
        buf.residuals = await controls[c].runner.run(
          buf.ctrlIn,
          buf.rows,
          h,
          w,
          t,
          buf.ehs,
          cond.seqLen,
          controls[c],
          buf.residuals,
          c > 0,
        );
      const out = await unet.predict(
        buf.unetIn,
        buf.rows,
        h,
        w,
        t,
        buf.ehs,
        cond.seqLen,
        controls.length ? buf.residuals : undefined,
        buf.extra,
      );
      for (let j = 0; j < g; j++) {
        if (this.guided)
          applyGuidance(out, this.o.guidance, this.o.rescale, buf.eps[j], j * n4, (g + j) * n4);
        else buf.eps[j].set(out.subarray(j * n4, (j + 1) * n4));
      }
      return buf.eps;
    };
  }
}
