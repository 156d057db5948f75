/**
 * LoRA key formats. A LoRA file names, for each adapted layer, a "down" (A) and an "up" (B) matrix
 * and optionally an alpha. Three spellings are in use for SD 1.5:
 *
 *   kohya (sd-scripts, A1111, civitai):  lora_unet_down_blocks_0_attentions_0_..._to_q.lora_down.weight
 *                                        lora_te_text_model_encoder_layers_0_self_attn_q_proj.alpha
 *   diffusers / PEFT:                    unet.down_blocks.0.attentions.0....to_q.lora_A.weight
 *                                        (also .lora.down.weight, base_model.model. prefixes)
 *   diffusers attention processors       down_blocks.0....attn1.processor.to_q_lora.down.weight
 *   (FaceChain's pytorch_lora_weights):  (to_out_lora means to_out.0)
 *
 * Every layer is reduced to a "flat" module id (dots replaced by underscores, as kohya does), which
 * is what the ONNX side matches against; kohya's underscore names cannot be turned back into
 * dotted paths without the model, the other direction is lossless.
 */

export type LoraComponent = 'unet' | 'text_encoder' | 'text_encoder_2';
export type LoraFormat = 'kohya' | 'peft' | 'diffusers-attn';
export type LoraPart = 'down' | 'up' | 'alpha';

export interface ParsedKey {
  component: LoraComponent;
  /** Module id with dots replaced by underscores, e.g. down_blocks_0_attentions_0_..._attn1_to_q. */
  flat: string;
  /** The module as named in the file (for reports). */
  module: string;
  part: LoraPart;
  format: LoraFormat;
  /** Dotted module path inside its model (PEFT and attention-processor keys), as PEFT names it. */
  path?: string;
}

export function flatten(dotted: string): string {
  return dotted.replace(/\./g, '_');
}

const KOHYA_COMPONENT: Record<string, LoraComponent> = {
  unet: 'unet',
  te: 'text_encoder',
  te1: 'text_encoder',
  te2: 'text_encoder_2',
};

function dottedComponent(path: string): { component: LoraComponent; rest: string } {
  let p = path.replace(/^base_model\.model\./, '');
  for (const c of ['unet', 'text_encoder_2', 'text_encoder'] as const) {
    if (p.startsWith(`${c}.`)) return { component: c, rest: p.slice(c.length + 1) };
  }
  // Bare PEFT or attention-processor keys: the text encoder's modules all live under text_model.
  p = p.replace(/^model\./, '');
  return { component: p.startsWith('text_model.') ? 'text_encoder' : 'unet', rest: p };
}

/**
 * Original-SD (CompVis/LDM) block names → diffusers, for the attention blocks of SD 1.5: some
 * LoRAs spell layers `input_blocks_4_1_transformer_blocks_0_attn1_to_q` instead of
 * `down_blocks_1_attentions_0_…`. Other LDM layers (resnets) are left as they are and end up
 * reported as unmatched.
 */
const LDM_INPUT: Record<string, string> = {
  '1': 'down_blocks_0_attentions_0',
  '2': 'down_blocks_0_attentions_1',
  '4': 'down_blocks_1_attentions_0',
  '5': 'down_blocks_1_attentions_1',
  '7': 'down_blocks_2_attentions_0',
  '8': 'down_blocks_2_attentions_1',
};
const LDM_OUTPUT: Record<string, string> = {
  '3': 'up_blocks_1_attentions_0',
  '4': 'up_blocks_1_attentions_1',
  '5': 'up_blocks_1_attentions_2',
  '6': 'up_blocks_2_attentions_0',
  '7': 'up_blocks_2_attentions_1',
  '8': 'up_blocks_2_attentions_2',
  '9': 'up_blocks_3_attentions_0',
  '10': 'up_blocks_3_attentions_1',
  '11': 'up_blocks_3_attentions_2',
};

export function ldmToDiffusersFlat(flat: string): string {
  let m = /^input_blocks_(\d+)_1_(.+)$/.exec(flat);
  if (m && LDM_INPUT[m[1]!]) return `${LDM_INPUT[m[1]!]}_${m[2]}`;
  m = /^output_blocks_(\d+)_1_(.+)$/.exec(flat);
  if (m && LDM_OUTPUT[m[1]!]) return `${LDM_OUTPUT[m[1]!]}_${m[2]}`;
  m = /^middle_block_1_(.+)$/.exec(flat);
  if (m) return `mid_block_attentions_0_${m[1]}`;
  return flat;
}

/** Parse one tensor key; undefined when it is not a LoRA down/up/alpha key this project merges. */
export function parseLoraKey(key: string): ParsedKey | undefined {
  let m = /^lora_(unet|te|te1|te2)_(.+)\.(lora_down\.weight|lora_up\.weight|alpha)$/.exec(key);
  if (m) {
    const part: LoraPart = m[3] === 'alpha' ? 'alpha' : m[3]!.startsWith('lora_down') ? 'down' : 'up';
    const component = KOHYA_COMPONENT[m[1]!]!;
    return {
      component,
      flat: component === 'unet' ? ldmToDiffusersFlat(m[2]!) : m[2]!,
      module: `lora_${m[1]}_${m[2]}`,
      part,
      format: 'kohya',
    };
  }
  m = /^(.+)\.processor\.(to_q|to_k|to_v|to_out)_lora\.(down|up)\.weight$/.exec(key);
  if (m) {
    const layer = m[2] === 'to_out' ? 'to_out.0' : m[2]!;
    const { component, rest } = dottedComponent(`${m[1]}.${layer}`);
    return {
      component,
      flat: flatten(rest),
      module: `${m[1]}.processor.${m[2]}_lora`,
      part: m[3] as 'down' | 'up',
      format: 'diffusers-attn',
      path: rest,
    };
  }
  m =
    /^(.+)\.(lora_A|lora_B)(?:\.[A-Za-z0-9_-]+)?\.weight$/.exec(key) ??
    /^(.+)\.lora\.(down|up)\.weight$/.exec(key);
  if (m) {
    const { component, rest } = dottedComponent(m[1]!);
    const part: LoraPart = m[2] === 'lora_A' || m[2] === 'down' ? 'down' : 'up';
    return { component, flat: flatten(rest), module: m[1]!, part, format: 'peft', path: rest };
  }
  m = /^(.+)\.alpha$/.exec(key);
  if (m && !key.startsWith('lora_')) {
    const { component, rest } = dottedComponent(m[1]!.replace(/\.lora$/, ''));
    return { component, flat: flatten(rest), module: m[1]!, part: 'alpha', format: 'peft', path: rest };
  }
  return undefined;
}
