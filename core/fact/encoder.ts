/**
 * FaceChain-FACT identity: a face encoder (TransFace ViT-S exported to ONNX: aligned 112×112 RGB
 * face in [-1, 1] → 144 patch tokens × 512, after the final LayerNorm) and a projector (Perceiver
 * resampler → 16 tokens × 768) turn one photo into face tokens the FACT UNet takes as an extra
 * input. The unconditional (negative) CFG branch gets the projector applied to all-zero features,
 * as FaceChain does.
 *
 * Several photos: the encoder features of each aligned crop are averaged position by position
 * (the crops are aligned to the same 5 reference points, so patch i covers the same facial region
 * in every photo) and projected once. FaceChain itself uses only the first photo.
 */

import { InputError, ModelError } from '../../base/errors.ts';
import { OnnxSession, type Tensor } from '../../models/onnx.ts';
import type { ModelStore } from '../../models/store.ts';

export const FACE_SIZE = 112;
export const FACE_PATCHES = 144;
export const FACE_FEATURE_DIM = 512;
export const FACE_TOKENS = 16;
export const FACE_TOKEN_DIM = 768;

/**
 * Model ids of the manifests (models/manifests/fact-*.json). The encoder is shared; FaceChain
 * trained one adapter per base model (film, majicmix), and each adapter checkpoint carries its own
 * projector and UNet attention weights.
 */
export const FACT_ENCODER_ID = 'fact-face-encoder';
const FACT_ADAPTERS: Record<string, string> = {
  'sd15-film': 'film',
  'sd15-majicmix-realistic-v6': 'majicmix',
};
export function factModelIds(base: string): { encoder: string; projector: string; unet: string } {
  const b = FACT_ADAPTERS[base];
  if (!b)
    throw new InputError(
      'fact_base',
      `FACT has adapters for ${Object.keys(FACT_ADAPTERS).join(' and ')} only, not "${base}". Choose a style on one of those bases.`,
    );
  return { encoder: FACT_ENCODER_ID, projector: `fact-projector-${b}`, unet: `fact-unet-${b}` };
}

/** Aligned 112×112 RGB (HWC, uint8) → CHW float32 in [-1, 1] ((x/255 − 0.5)/0.5). */
export function faceInput(rgb112: Uint8Array): Float32Array {
  const n = FACE_SIZE * FACE_SIZE;
  if (rgb112.length !== n * 3)
    throw new InputError(
      'bad_face_crop',
      `FACT needs an aligned ${FACE_SIZE}×${FACE_SIZE} RGB face crop (${n * 3} bytes); got ${rgb112.length} bytes.`,
    );
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[c * n + i] = rgb112[i * 3 + c]! / 127.5 - 1;
  return out;
}

export interface FaceTokens {
  /** [16, 768] tokens for one face. */
  data: Float32Array;
  /** How many photos were averaged. */
  photos: number;
}

export class FactEncoder {
  private zero?: Float32Array;

  constructor(
    private readonly encoder: OnnxSession,
    private readonly projector: OnnxSession,
  ) {
    const ein = encoder.inputs[0];
    const pin = projector.inputs[0];
    if (!ein || !pin || encoder.outputs.length < 1 || projector.outputs.length < 1)
      throw new ModelError(
        'model_mismatch',
        'FACT encoder and projector each need one input and one output.',
      );
  }

  /** Sessions from the model store (manifests fact-face-encoder and fact-projector-<base>). */
  static async fromStore(
    store: ModelStore,
    base: string,
    opts: { threads?: number; providers?: string[] } = {},
  ): Promise<FactEncoder> {
    const ids = factModelIds(base);
    const open = async (id: string) => {
      const m = store.manifest(id);
      return OnnxSession.create(await store.path(id), {
        name: id,
        ...opts,
        expectInputs: m.inputs,
        expectOutputs: m.outputs,
      });
    };
    return new FactEncoder(await open(ids.encoder), await open(ids.projector));
  }

  /** Patch features [144, 512] of one aligned crop. */
  async features(rgb112: Uint8Array): Promise<Float32Array> {
    const name = this.encoder.inputs[0]!.name;
    const out = await this.encoder.run({
      [name]: { type: 'float32', data: faceInput(rgb112), dims: [1, 3, FACE_SIZE, FACE_SIZE] },
    });
    const t = out[this.encoder.outputs[0]!.name]!;
    if (t.data.length !== FACE_PATCHES * FACE_FEATURE_DIM)
      throw new ModelError(
        'model_mismatch',
        `FACT face encoder returned dims [${t.dims.join(', ')}]; expected [1, ${FACE_PATCHES}, ${FACE_FEATURE_DIM}].`,
      );
    return Float32Array.from(t.data as Float32Array);
  }

  /** Project features [144, 512] to face tokens [16, 768]. */
  async project(features: Float32Array): Promise<Float32Array> {
    const name = this.projector.inputs[0]!.name;
    const out = await this.projector.run({
      [name]: { type: 'float32', data: features, dims: [1, FACE_PATCHES, FACE_FEATURE_DIM] },
    });
    const t = out[this.projector.outputs[0]!.name]!;
    if (t.data.length !== FACE_TOKENS * FACE_TOKEN_DIM)
      throw new ModelError(
        'model_mismatch',
        `FACT projector returned dims [${t.dims.join(', ')}]; expected [1, ${FACE_TOKENS}, ${FACE_TOKEN_DIM}].`,
      );
    return Float32Array.from(t.data as Float32Array);
  }

  /** Face tokens from one or more aligned crops of the same person (features averaged). */
  async faceTokens(crops: readonly Uint8Array[]): Promise<FaceTokens> {
    if (crops.length === 0) throw new InputError('no_face', 'FACT needs at least one aligned face photo.');
    const sum = new Float32Array(FACE_PATCHES * FACE_FEATURE_DIM);
    for (const c of crops) {
      const f = await this.features(c);
      for (let i = 0; i < sum.length; i++) sum[i] += f[i]!;
    }
    if (crops.length > 1) for (let i = 0; i < sum.length; i++) sum[i] /= crops.length;
    return { data: await this.project(sum), photos: crops.length };
  }

  /** The unconditional branch's tokens: the projector applied to zero features (computed once). */
  async zeroFaceTokens(): Promise<Float32Array> {
    this.zero ??= await this.project(new Float32Array(FACE_PATCHES * FACE_FEATURE_DIM));
    return this.zero;
  }

  async dispose(): Promise<void> {
    await this.encoder.dispose();
    await this.projector.dispose();
  }
}

/** Names of the FACT UNet's extra inputs (the export contract, docs/identity-and-style.md). */
export const FACE_TOKENS_INPUT = 'face_tokens';
export const ADAPTER_SCALE_INPUT = 'adapter_scale';

/** FaceChain-FACT's default adapter scale. */
export const DEFAULT_ADAPTER_SCALE = 0.5;

/**
 * The FACT UNet's extra inputs for one denoising step. With classifier-free guidance the batch is
 * [unconditional × n, conditional × n] (the diffusers order), so the first n rows get the
 * zero-face tokens and the last n the person's tokens; without guidance every row gets the
 * person's tokens.
 */
export function factUnetFeeds(opts: {
  cond: Float32Array;
  uncond?: Float32Array;
  /** Images per step (n). */
  images: number;
  guidance: boolean;
  scale: number;
}): Record<string, Tensor> {
  const per = FACE_TOKENS * FACE_TOKEN_DIM;
  if (opts.cond.length !== per) throw new ModelError('fact_tokens', `face tokens must be ${per} values.`);
  if (!Number.isFinite(opts.scale) || opts.scale < 0 || opts.scale > 2)
    throw new InputError(
      'bad_adapter_scale',
      `Adapter scale ${opts.scale} is out of range; use 0–2 (default 0.5).`,
    );
  const rows: Float32Array[] = [];
  if (opts.guidance) {
    if (!opts.uncond || opts.uncond.length !== per)
      throw new ModelError(
        'fact_tokens',
        'classifier-free guidance needs the zero-face tokens for the negative branch.',
      );
    for (let i = 0; i < opts.images; i++) rows.push(opts.uncond);
  }
  for (let i = 0; i < opts.images; i++) rows.push(opts.cond);
  const data = new Float32Array(rows.length * per);
  rows.forEach((r, i) => {
    data.set(r, i * per);
  });
  return {
    [FACE_TOKENS_INPUT]: { type: 'float32', data, dims: [rows.length, FACE_TOKENS, FACE_TOKEN_DIM] },
    [ADAPTER_SCALE_INPUT]: { type: 'float32', data: new Float32Array([opts.scale]), dims: [1] },
  };
}
