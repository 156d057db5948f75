/**
 * How prompt text becomes token windows, in one of two ways:
 *
 * "a1111" (users' own prompts): AUTOMATIC1111's web UI attention syntax, which FaceChain's users
 * and published prompts use:
 * - `(text)` multiplies attention by 1.1, `((text))` by 1.21, `(text:1.3)` by 1.3;
 * - `[text]` divides by 1.1; `\(`, `\)`, `\[`, `\]` and `\\` are literal characters;
 * - unbalanced brackets apply to the end of the prompt.
 * Weights scale each token's embedding, after which the chunk is rescaled to keep its original
 * mean (so emphasis changes direction, not overall magnitude). Prompts longer than one window
 * (75 tokens between BOS and EOS) are split into several windows whose embeddings are
 * concatenated along the sequence axis; nothing is cut.
 *
 * "plain" (FaceChain's prompts): what diffusers' StableDiffusionPipeline does with the text
 * FaceChain hands it. No syntax: `(<fcsks>:10)` reaches the tokenizer as the characters
 * `(`, `<`, `fc`, ... `:`, `10`, `)`; and one window, cut after 75 tokens (the tokenizer's
 * truncation to 77 with BOS and EOS), so whatever follows is dropped, as in FaceChain.
 */
import { InputError } from '../../base/errors.ts';
import type { ClipTokenizer } from './tokenizer.ts';

export interface WeightedText {
  text: string;
  weight: number;
}

const ATTENTION = /\\\(|\\\)|\\\[|\\]|\\\\|\\|\(|\[|:\s*([+-]?[.\d]+)\s*\)|\)|]|[^\\()[\]:]+|:/g;

/** Split a prompt into runs of text with their attention weights. */
export function parseAttention(prompt: string): WeightedText[] {
  const res: WeightedText[] = [];
  const round: number[] = [];
  const square: number[] = [];
  const multiply = (start: number, m: number): void => {
    for (let p = start; p < res.length; p++) res[p].weight *= m;
  };
  for (const m of prompt.matchAll(ATTENTION)) {
    const text = m[0];
    const weight = m[1];
    if (text.startsWith('\\')) res.push({ text: text.slice(1), weight: 1 });
    else if (text === '(') round.push(res.length);
    else if (text === '[') square.push(res.length);
    else if (weight !== undefined && round.length) {
      const w = Number.parseFloat(weight);
      if (!Number.isFinite(w))
        throw new InputError(
          'bad_prompt_weight',
          `"${text.trim()}" is not a valid weight; write e.g. (word:1.3).`,
        );
      multiply(round.pop()!, w);
    } else if (text === ')' && round.length) multiply(round.pop()!, 1.1);
    else if (text === ']' && square.length) multiply(square.pop()!, 1 / 1.1);
    else res.push({ text, weight: 1 });
  }
  for (const p of round) multiply(p, 1.1);
  for (const p of square) multiply(p, 1 / 1.1);
  if (res.length === 0) return [{ text: '', weight: 1 }];
  const merged: WeightedText[] = [res[0]];
  for (let i = 1; i < res.length; i++) {
    const last = merged[merged.length - 1];
    if (last.weight === res[i].weight) last.text += res[i].text;
    else merged.push({ ...res[i] });
  }
  return merged;
}

export type PromptWeighting = 'a1111' | 'plain';
export const PROMPT_WEIGHTINGS: readonly PromptWeighting[] = ['a1111', 'plain'];

export interface TokenWindows {
  /** windows × maxLength token ids (BOS ... EOS pad ...). */
  ids: Int32Array;
  /** Same layout: attention weight per position (1 for BOS, EOS and padding). */
  weights: Float32Array;
  windows: number;
  /** Tokens of text (without BOS/EOS), for reporting. */
  tokenCount: number;
  /** Tokens cut off the end ("plain" prompts longer than one window); 0 otherwise. */
  truncated: number;
}

/**
 * Tokenise a prompt into model windows, at least `minWindows` (to match the other prompt of a CFG
 * pair). "a1111" parses attention weights and uses as many windows as the text needs; "plain"
 * keeps the text as it is and cuts it to one window.
 */
export function tokenizePrompt(
  tok: ClipTokenizer,
  prompt: string,
  minWindows = 1,
  weighting: PromptWeighting = 'a1111',
): TokenWindows {
  let ids: number[] = [];
  const ws: number[] = [];
  const inner = tok.maxLength - 2;
  let truncated = 0;
  if (weighting === 'plain') {
    ids = tok.encode(prompt);
    truncated = Math.max(0, ids.length - inner);
    ids = ids.slice(0, inner);
    for (let k = 0; k < ids.length; k++) ws.push(1);
  } else
    for (const part of parseAttention(prompt)) {
      const t = tok.encode(part.text);
      for (const id of t) {
        ids.push(id);
        ws.push(part.weight);
      }
    }
  const windows = Math.max(minWindows, Math.ceil(ids.length / inner), 1);
  const L = tok.maxLength;
  const outIds = new Int32Array(windows * L);
  const outW = new Float32Array(windows * L).fill(1);
  for (let w = 0; w < windows; w++) {
    const slice = ids.slice(w * inner, (w + 1) * inner);
    outIds.set(tok.window(slice), w * L);
    for (let k = 0; k < slice.length; k++) outW[w * L + 1 + k] = ws[w * inner + k];
  }
  return { ids: outIds, weights: outW, windows, tokenCount: ids.length + truncated, truncated };
}

/**
 * Apply per-token weights to hidden states [windows, L, dim] in place, keeping each window's mean
 * (A1111's approach). Windows whose weights are all 1 are left untouched.
 */
export function applyWeights(hidden: Float32Array, weights: Float32Array, L: number, dim: number): void {
  const windows = weights.length / L;
  for (let w = 0; w < windows; w++) {
    let any = false;
    for (let k = 0; k < L; k++) if (weights[w * L + k] !== 1) any = true;
    if (!any) continue;
    const base = w * L * dim;
    let before = 0;
    for (let k = 0; k < L * dim; k++) before += hidden[base + k];
    let after = 0;
    for (let k = 0; k < L; k++) {
      const wt = weights[w * L + k];
      for (let d = 0; d < dim; d++) {
        const i = base + k * dim + d;
        hidden[i] *= wt;
        after += hidden[i];
      }
    }
    if (after === 0) continue;
    const f = before / after;
    for (let k = 0; k < L * dim; k++) hidden[base + k] *= f;
  }
}
