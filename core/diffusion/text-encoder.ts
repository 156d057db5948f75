/**
 * Prompt → CLIP hidden states: with A1111 attention weights applied and long prompts as several
 * 77-token windows concatenated along the sequence axis, or as plain text in one window
 * (prompt.ts). Recent results are cached (prompts are re-used constantly: the same negative
 * prompt, rerolls, "more like this").
 */
import type { OnnxSession } from '../../models/onnx.ts';
import { applyWeights, type PromptWeighting, tokenizePrompt } from './prompt.ts';
import { readFloat } from './tensors.ts';
import type { ClipTokenizer } from './tokenizer.ts';

export interface PromptEmbedding {
  /** [1, windows * 77, dim] as a flat array. */
  data: Float32Array;
  windows: number;
  seqLen: number;
  dim: number;
  /** Tokens cut off a "plain" prompt longer than one window. */
  truncated: number;
}

export class PromptEncoder {
  private readonly cache = new Map<string, PromptEmbedding>();
  /** Milliseconds spent inside the text encoder model. */
  modelMs = 0;

  constructor(
    private readonly tokenizer: ClipTokenizer,
    private readonly session: OnnxSession,
    private readonly cacheSize = 32,
  ) {}

  get cached(): number {
    return this.cache.size;
  }

  async encode(
    prompt: string,
    minWindows = 1,
    weighting: PromptWeighting = 'a1111',
  ): Promise<PromptEmbedding> {
    const tokens = tokenizePrompt(this.tokenizer, prompt, minWindows, weighting);
    const key = `${weighting}\u0000${tokens.windows}\u0000${prompt}`;
    const hit = this.cache.get(key);
    if (hit) {
      // Refresh its place in the LRU order.
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const L = this.tokenizer.maxLength;
    const idsType = this.session.inputs.find((i) => i.name === 'input_ids')?.type ?? 'int32';
    const ids =
      idsType === 'int64'
        ? {
            type: 'int64' as const,
            data: BigInt64Array.from(tokens.ids, (v) => BigInt(v)),
            dims: [tokens.windows, L],
          }
        : { type: 'int32' as const, data: tokens.ids, dims: [tokens.windows, L] };
    const t0 = performance.now();
    const out = await this.session.run({ input_ids: ids }, ['last_hidden_state']);
    this.modelMs += performance.now() - t0;
    const hidden = out.last_hidden_state;
    const dim = hidden.dims[2];
    // Copy: the weights are applied in place and the cache must own its data.
    const data = readFloat(hidden, new Float32Array(hidden.data.length));
    applyWeights(data, tokens.weights, L, dim);
    const emb = {
      data,
      windows: tokens.windows,
      seqLen: tokens.windows * L,
      dim,
      truncated: tokens.truncated,
    };
    this.cache.set(key, emb);
    while (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
    return emb;
  }

  /** Conditional and unconditional embeddings with the same number of windows (for CFG batches). */
  async encodePair(
    prompt: string,
    negative: string,
    weighting: PromptWeighting = 'a1111',
  ): Promise<{ cond: PromptEmbedding; uncond: PromptEmbedding }> {
    const windows = Math.max(
      tokenizePrompt(this.tokenizer, prompt, 1, weighting).windows,
      tokenizePrompt(this.tokenizer, negative, 1, weighting).windows,
    );
    return {
      cond: await this.encode(prompt, windows, weighting),
      uncond: await this.encode(negative, windows, weighting),
    };
  }
}
