/**
 * The layers of Stable Diffusion 1.5 that LoRAs adapt, with their real shapes (diffusers module
 * names): the 16 UNet transformer blocks (channels 320/640/1280; cross-attention keys/values read
 * 768-wide CLIP states) and the 12 CLIP ViT-L text encoder layers. Used to validate uploaded
 * LoRAs without the model at hand, and by the bench to build weights of the real sizes.
 */
import type { WeightTarget } from '../../models/onnx-edit.ts';

const CONTEXT = 768;

/** [module prefix, channels] of every SD 1.5 attention block (Transformer2DModel). */
export const SD15_ATTENTION_BLOCKS: readonly [string, number][] = [
  ['down_blocks.0.attentions.0', 320],
  ['down_blocks.0.attentions.1', 320],
  ['down_blocks.1.attentions.0', 640],
  ['down_blocks.1.attentions.1', 640],
  ['down_blocks.2.attentions.0', 1280],
  ['down_blocks.2.attentions.1', 1280],
  ['mid_block.attentions.0', 1280],
  ['up_blocks.1.attentions.0', 1280],
  ['up_blocks.1.attentions.1', 1280],
  ['up_blocks.1.attentions.2', 1280],
  ['up_blocks.2.attentions.0', 640],
  ['up_blocks.2.attentions.1', 640],
  ['up_blocks.2.attentions.2', 640],
  ['up_blocks.3.attentions.0', 320],
  ['up_blocks.3.attentions.1', 320],
  ['up_blocks.3.attentions.2', 320],
];

function linear(module: string, inF: number, outF: number): WeightTarget {
  // As torch.onnx exports Linear: MatMul on a transposed [in, out] weight.
  return {
    initializer: `${module}.weight`,
    module,
    flat: module.replace(/\./g, '_'),
    transposed: true,
    dims: [inF, outF],
    dtype: 'float32',
    op: 'MatMul',
    outFeatures: outF,
    inFeatures: inF,
  };
}

function conv1x1(module: string, c: number): WeightTarget {
  return { ...linear(module, c, c), transposed: false, dims: [c, c, 1, 1], op: 'Conv' };
}

/** SD 1.5 UNet layers; `scope` 'attention' keeps q/k/v/out only (what FaceChain's face LoRA trains). */
export function sd15UnetLayers(scope: 'attention' | 'transformer' = 'transformer'): WeightTarget[] {
  const out: WeightTarget[] = [];
  for (const [block, c] of SD15_ATTENTION_BLOCKS) {
    const tb = `${block}.transformer_blocks.0`;
    if (scope === 'transformer') out.push(conv1x1(`${block}.proj_in`, c));
    for (const attn of ['attn1', 'attn2']) {
      const kv = attn === 'attn1' ? c : CONTEXT;
      out.push(linear(`${tb}.${attn}.to_q`, c, c));
      out.push(linear(`${tb}.${attn}.to_k`, kv, c));
      out.push(linear(`${tb}.${attn}.to_v`, kv, c));
      out.push(linear(`${tb}.${attn}.to_out.0`, c, c));
    }
    if (scope === 'transformer') {
      out.push(linear(`${tb}.ff.net.0.proj`, c, c * 8)); // GEGLU: value and gate halves
      out.push(linear(`${tb}.ff.net.2`, c * 4, c));
      out.push(conv1x1(`${block}.proj_out`, c));
    }
  }
  return out;
}

/** CLIP ViT-L/14 text encoder layers of SD 1.5 (12 layers, width 768, MLP 3072). */
export function sd15TextEncoderLayers(): WeightTarget[] {
  const out: WeightTarget[] = [];
  for (let i = 0; i < 12; i++) {
    const p = `text_model.encoder.layers.${i}`;
    for (const x of ['q_proj', 'k_proj', 'v_proj', 'out_proj'])
      out.push(linear(`${p}.self_attn.${x}`, 768, 768));
    out.push(linear(`${p}.mlp.fc1`, 768, 3072));
    out.push(linear(`${p}.mlp.fc2`, 3072, 768));
  }
  return out;
}
