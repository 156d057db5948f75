/**
 * The UNet call of one denoising step: feeds in the model's own dtypes (fp32/fp16 sample,
 * float/int64 timestep of rank 0 or 1), optional ControlNet residual inputs, and returns epsilon
 * as float32. Input buffers are reused across steps.
 */

import { ModelError } from '../../base/errors.ts';
import type { OnnxSession, Tensor } from '../../models/onnx.ts';
import { FloatFeed, inputType, readFloat } from './tensors.ts';

/** SD 1.x's ControlNet residuals: 12 down (levels and channels) and one mid block. */
export const SD15_DOWN_LEVELS = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3];
export const SD15_DOWN_CHANNELS = [320, 320, 320, 320, 640, 640, 640, 1280, 1280, 1280, 1280, 1280];

export interface Residuals {
  down: Float32Array[];
  mid: Float32Array;
  /** dims of each down residual, then mid. */
  dims: number[][];
}

/** ControlNet residual inputs are recognised by name: every exporter's names contain "residual". */
export const RESIDUAL_INPUT = /residual/i;

export class UnetRunner {
  readonly inChannels: number;
  readonly downInputs: string[];
  readonly midInput?: string;
  /**
   * Inputs that are neither the standard three nor ControlNet residuals (FACT's face tokens and
   * adapter scale, a LoRA switcher's lifted weights): the caller must feed them.
   */
  readonly otherInputs: string[];
  /** Milliseconds inside the model. */
  modelMs = 0;
  private readonly sampleFeed: FloatFeed;
  private readonly ehsFeed: FloatFeed;
  private readonly residualFeeds: FloatFeed[];
  private readonly tType: string;
  private readonly tRank: number;
  private zeros?: Residuals;
  private ehsTensor?: { src: Float32Array; t: Tensor };
  private out = new Float32Array(0);

  constructor(
    readonly session: OnnxSession,
    inChannels: number,
  ) {
    const names = session.inputs.map((i) => i.name);
    for (const n of ['sample', 'timestep', 'encoder_hidden_states'])
      if (!names.includes(n))
        throw new ModelError(
          'model_mismatch',
          `UNet "${session.name}" has no input "${n}"; inputs are ${names.join(', ')}. Export it with diffusers or optimum (docs/generation.md).`,
        );
    if (!session.outputs.some((o) => o.name === 'out_sample'))
      throw new ModelError('model_mismatch', `UNet "${session.name}" has no output "out_sample".`);
    this.inChannels = inChannels;
    const rest = names.filter((n) => !['sample', 'timestep', 'encoder_hidden_states'].includes(n));
    const extra = rest.filter((n) => RESIDUAL_INPUT.test(n));
    this.otherInputs = rest.filter((n) => !RESIDUAL_INPUT.test(n));
    this.midInput = extra.find((n) => n.includes('mid'));
    this.downInputs = extra.filter((n) => n !== this.midInput);
    this.sampleFeed = new FloatFeed(inputType(session.inputs, 'sample'));
    this.ehsFeed = new FloatFeed(inputType(session.inputs, 'encoder_hidden_states'));
    this.residualFeeds = extra.map((n) => new FloatFeed(inputType(session.inputs, n)));
    const t = session.inputs.find((i) => i.name === 'timestep')!;
    this.tType = t.type;
    this.tRank = t.shape.length;
  }

  get acceptsControl(): boolean {
    return this.downInputs.length > 0 && this.midInput !== undefined;
  }

  private tBuf = new Float32Array(0);
  private tBuf64 = new BigInt64Array(0);
  private tFeed?: FloatFeed;

  /** The timestep tensor in the model's dtype and rank, in reused buffers. */
  private timestep(t: number, batch: number): Tensor {
    const dims = this.tRank === 0 ? [] : [batch];
    const n = this.tRank === 0 ? 1 : batch;
    if (this.tType === 'int64') {
      if (this.tBuf64.length !== n) this.tBuf64 = new BigInt64Array(n);
      this.tBuf64.fill(BigInt(Math.round(t)));
      return { type: 'int64', data: this.tBuf64, dims };
    }
    this.tFeed ??= new FloatFeed(this.tType === 'float16' ? 'float16' : 'float32');
    if (this.tBuf.length !== n) this.tBuf = new Float32Array(n);
    this.tBuf.fill(t);
    return this.tFeed.tensor(this.tBuf, dims);
  }

  /** Zero residuals for a control-capable UNet run without ControlNet. */
  private zeroResiduals(batch: number, h: number, w: number): Residuals {
    const z = this.zeros;
    if (z && z.dims[0][0] === batch && z.dims[0][2] === h && z.dims[0][3] === w) return z;
    const channelsOf = (name: string, fallback: number): number => {
      const c = this.session.inputs.find((i) => i.name === name)?.shape[1];
      return typeof c === 'number' ? c : fallback;
    };
    const dims = this.downInputs.map((n, i) => {
      const level = SD15_DOWN_LEVELS[i] ?? 3;
      // Stride-2 convolutions with padding 1 round up.
      const f = 2 ** level;
      return [batch, channelsOf(n, SD15_DOWN_CHANNELS[i] ?? 1280), Math.ceil(h / f), Math.ceil(w / f)];
    });
    dims.push([batch, channelsOf(this.midInput!, 1280), Math.ceil(h / 8), Math.ceil(w / 8)]);
    const arrays = dims.map((d) => new Float32Array(d.reduce((a, b) => a * b, 1)));
    this.zeros = { down: arrays.slice(0, -1), mid: arrays[arrays.length - 1], dims };
    return this.zeros;
  }

  /**
   * Epsilon for a batch of samples [batch, inChannels, h, w] at timestep t. Returns a buffer owned
   * by the runner (valid until the next call).
   */
  async predict(
    sample: Float32Array,
    batch: number,
    h: number,
    w: number,
    t: number,
    ehs: Float32Array,
    seqLen: number,
    residuals?: Residuals,
    extraFeeds?: Record<string, Tensor>,
  ): Promise<Float32Array> {
    if (!this.ehsTensor || this.ehsTensor.src !== ehs) {
      const dim = ehs.length / (batch * seqLen);
      // Converted once per generation, not per step.
      const conv = new FloatFeed(this.ehsFeed.type).tensor(ehs, [batch, seqLen, dim]);
      this.ehsTensor = { src: ehs, t: conv };
    }
    const feeds: Record<string, Tensor> = {
      sample: this.sampleFeed.tensor(sample, [batch, this.inChannels, h, w]),
      timestep: this.timestep(t, batch),
      encoder_hidden_states: this.ehsTensor.t,
    };
    for (const n of this.otherInputs) {
      const t = extraFeeds?.[n];
      if (!t)
        throw new ModelError(
          'model_input',
          `UNet "${this.session.name}" has an extra input "${n}" that nobody feeds (FACT face tokens or LoRA switcher weights come from their own modules).`,
        );
      feeds[n] = t;
    }
    if (this.acceptsControl) {
      const r = residuals ?? this.zeroResiduals(batch, h, w);
      if (r.down.length !== this.downInputs.length)
        throw new ModelError(
          'model_mismatch',
          `The ControlNet gives ${r.down.length} down-block residuals but the UNet takes ${this.downInputs.length}.`,
        );
      this.downInputs.forEach((n, i) => {
        feeds[n] = this.residualFeeds[i].tensor(r.down[i], r.dims[i]);
      });
      feeds[this.midInput!] = this.residualFeeds[this.downInputs.length].tensor(
        r.mid,
        r.dims[r.dims.length - 1],
      );
    } else if (residuals) {
      throw new ModelError(
        'model_mismatch',
        `UNet "${this.session.name}" was exported without ControlNet residual inputs; export it with them (docs/generation.md).`,
      );
    }
    const t0 = performance.now();
    const out = await this.session.run(feeds, ['out_sample']);
    this.modelMs += performance.now() - t0;
    const n = batch * 4 * h * w;
    if (this.out.length !== n) this.out = new Float32Array(n);
    return readFloat(out.out_sample, this.out);
  }
}
