import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURE_MERGES, fixtureVocab } from '../../models/fixtures/clip-vocab.ts';

/**
 * PSNR of a result against its target, in dB, with the peak taken as the target's dynamic range
 * (max - min): the usual definition for signals that are not 8-bit images (latents).
 */
export function psnr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let mse = 0;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < expected.length; k++) {
    const d = actual[k] - expected[k];
    mse += d * d;
    if (expected[k] < lo) lo = expected[k];
    if (expected[k] > hi) hi = expected[k];
  }
  mse /= expected.length;
  if (mse === 0) return Number.POSITIVE_INFINITY;
  return 10 * Math.log10(((hi - lo) * (hi - lo)) / mse);
}

/**
 * transformers >= 5 saves only tokenizer.json + tokenizer_config.json. Built here from the same
 * fixture vocabulary and merges as the vocab.json + merges.txt folder, as the tokenizers library
 * lays it out: model.vocab without the special tokens (they are in added_tokens), merges as
 * "a b" strings (older files) or [a, b] pairs (newer ones).
 */
export function writeFastTokenizer(to: string, merges: 'strings' | 'pairs'): void {
  mkdirSync(to, { recursive: true });
  const { '<|startoftext|>': bos, '<|endoftext|>': eos, ...vocab } = fixtureVocab();
  const added = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: true,
  });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [added(bos, '<|startoftext|>'), added(eos, '<|endoftext|>')],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Lowercase' }] },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<|endoftext|>',
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: merges === 'strings' ? [...FIXTURE_MERGES] : FIXTURE_MERGES.map((m) => m.split(' ')),
    },
  };
  writeFileSync(path.join(to, 'tokenizer.json'), JSON.stringify(json));
  writeFileSync(
    path.join(to, 'tokenizer_config.json'),
    JSON.stringify({
      model_max_length: 77,
      bos_token: '<|startoftext|>',
      eos_token: '<|endoftext|>',
      unk_token: '<|endoftext|>',
      pad_token: '<|endoftext|>',
      tokenizer_class: 'CLIPTokenizer',
    }),
  );
}
