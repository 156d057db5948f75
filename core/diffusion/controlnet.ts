/**
 * ControlNet runs: each model takes the step's latents, timestep, text embeddings and its
 * conditioning image (RGB in [0, 1], NCHW, at output resolution) and returns residuals for the
 * UNet's down blocks and mid block, scaled by its conditioning scale. Several ControlNets' residuals
 * are summed (as diffusers' MultiControlNetModel does).
 *
 * Output names: the output whose name contains "mid" is the mid-block residual; the others are
 * the down-block residuals in the model's output order (diffusers-based exporters name them
 * down_block_res_samples_N / down_N / ...; see docs/generation.md).
 */

import { ModelError } from '../../base/errors.ts';
import type { OnnxSession, Tensor } from '../../models/onnx.ts';
import { FloatFeed, inputType, readFloat } from './tensors.ts';
import type { Residuals } from './unet.ts';

export interface ControlInput {
  runner: ControlNetRunner;
  /** [3, H, W] in [0, 1]. */
  image: Float32Array;
  scale: number;
  /** The image repeated for the batch, in the model's dtype (made on first use, per entry). */
  cond?: { batch: number; t: Tensor };
}

export class ControlNetRunner {
  readonly downOutputs: string[];
  readonly midOutput: string;
  modelMs = 0;
  private readonly feeds: Record<string, FloatFeed>;
  private readonly hasScale: boolean;

  constructor(readonly session: OnnxSession) {
    const names = session.inputs.map((i) => i.name);
    for (const n of ['sample', 'timestep', 'encoder_hidden_states', 'controlnet_cond'])
      if (!names.includes(n))
        throw new ModelError(
          'model_mismatch',
          `ControlNet "${session.name}" has no input "${n}"; inputs are ${names.join(', ')}.`,
        );
    const outs = session.outputs.map((o) => o.name);
    const mid = outs.find((n) => n.includes('mid'));
    if (!mid || outs.length < 2)
      throw new ModelError(
        'model_mismatch',
        `ControlNet "${session.name}" has no mid-block output; outputs are ${outs.join(', ')}.`,
      );
    this.midOutput = mid;
    this.downOutputs = outs.filter((n) => n !== mid);
    this.hasScale = names.includes('conditioning_scale');
    this.feeds = Object.fromEntries(names.map((n) => [n, new FloatFeed(inputType(session.inputs, n))]));
  }

  private ehsCache?: { src: Float32Array; t: Tensor };

  /**
   * Run for one step. Residuals are written into `into` (allocated when absent), or added to it
   * when `add` is set (the second and later ControlNets of a step).
   */
  async run(
    sample: Float32Array,
    batch: number,
    h: number,
    w: number,
    t: number,
    ehs: Float32Array,
    seqLen: number,
    control: ControlInput,
    into?: Residuals,
    add = false,
  ): Promise<Residuals> {
    if (!this.ehsCache || this.ehsCache.src !== ehs) {
      const dim = ehs.length / (batch * seqLen);
      this.ehsCache = {
        src: ehs,
        t: new FloatFeed(this.feeds.encoder_hidden_states.type).tensor(ehs, [batch, seqLen, dim]),
      };
    }
    const H = h * 8;
    const W = w * 8;
    if (!control.cond || control.cond.batch !== batch) {
      const data = new Float32Array(batch * 3 * H * W);
      for (let b = 0; b < batch; b++) data.set(control.image, b * 3 * H * W);
      // Its own conversion buffer: two entries may share this runner (and an fp16 feed's buffer).
      const feed = new FloatFeed(this.feeds.controlnet_cond.type);
      control.cond = { batch, t: feed.tensor(data, [batch, 3, H, W]) };
    }
    const tShape = this.session.inputs.find((i) => i.name === 'timestep')!.shape;
    const tn = tShape.length === 0 ? 1 : batch;
    const feeds: Record<string, Tensor> = {
      sample: this.feeds.sample.tensor(sample, [batch, 4, h, w]),
      timestep:
        inputType(this.session.inputs, 'timestep') === 'int64'
          ? {
              type: 'int64',
              data: new BigInt64Array(tn).fill(BigInt(Math.round(t))),
              dims: tShape.length ? [tn] : [],
            }
          : this.feeds.timestep.tensor(new Float32Array(tn).fill(t), tShape.length ? [tn] : []),
      encoder_hidden_states: this.ehsCache.t,
      controlnet_cond: control.cond.t,
    };
    if (this.hasScale) {
      const s = this.session.inputs.find((i) => i.name === 'conditioning_scale')!;
      feeds.conditioning_scale = this.feeds.conditioning_scale.tensor(
        new Float32Array([control.scale]),
        s.shape.length ? [1] : [],
      );
    }
    const t0 = performance.now();
    const out = await this.session.run(feeds);
    this.modelMs += performance.now() - t0;
    const mult = this.hasScale ? 1 : control.scale;
    const names = [...this.downOutputs, this.midOutput];
    const result: Residuals = into ?? {
      down: this.downOutputs.map((n) => new Float32Array(out[n].data.length)),
      mid: new Float32Array(out[this.midOutput].data.length),
      dims: names.map((n) => [...out[n].dims]),
    };
    names.forEach((n, i) => {
      const src = readFloat(out[n]);
      const dst = i < this.downOutputs.length ? result.down[i] : result.mid;
      if (dst.length !== src.length)
        throw new ModelError(
          'model_mismatch',
          `ControlNet residual ${n} does not match the other ControlNet's shape.`,
        );
      if (add) for (let k = 0; k < src.length; k++) dst[k] += src[k] * mult;
      else for (let k = 0; k < src.length; k++) dst[k] = src[k] * mult;
    });
    return result;
  }
}
