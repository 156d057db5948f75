/** Prompt encoding through a real ONNX text encoder (the fixture's known embedding functions). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SdModelFolder } from '../../core/diffusion/model-folder.ts';
import { tokenizePrompt } from '../../core/diffusion/prompt.ts';
import { PromptEncoder } from '../../core/diffusion/text-encoder.ts';
import { HIDDEN, positionEmbedding, tokenEmbedding, writeFixtureSdModel } from '../../models/fixtures/sd.ts';

const root = mkdtempSync(path.join(tmpdir(), 'fc-te-'));
const folders: SdModelFolder[] = [];
afterAll(async () => {
  for (const f of folders) await f.close();
  rmSync(root, { recursive: true, force: true });
});

async function encoder(name: string, opts: Parameters<typeof writeFixtureSdModel>[1] = {}) {
  writeFixtureSdModel(path.join(root, name), opts);
  const f = SdModelFolder.open(path.join(root, name), { providers: ['cpu'] });
  folders.push(f);
  return { folder: f, enc: new PromptEncoder(f.tokenizer, await f.session('text_encoder'), 2) };
}

/** The fixture's hidden state for token id at position p, dimension d. */
const known = (id: number, p: number, d: number) => tokenEmbedding(id, d) + positionEmbedding(p, d);

describe('prompt encoder', () => {
  it('returns the text encoder hidden states per window, weighted and mean-restored', async () => {
    const { folder, enc } = await encoder('a');
    const prompt = 'a (red:1.5) cat';
    const e = await enc.encode(prompt);
    expect([e.windows, e.seqLen, e.dim]).toEqual([1, 77, HIDDEN]);
    const t = tokenizePrompt(folder.tokenizer, prompt);
    // Expected: known rows × weights, then scaled so the window keeps its unweighted sum.
    let before = 0;
    let after = 0;
    for (let p = 0; p < 77; p++)
      for (let d = 0; d < HIDDEN; d++) {
        const v = known(t.ids[p], p, d);
        before += v;
        after += v * t.weights[p];
      }
    const f = before / after;
    let maxErr = 0;
    for (let p = 0; p < 77; p++)
      for (let d = 0; d < HIDDEN; d += 7)
        maxErr = Math.max(
          maxErr,
          Math.abs(e.data[p * HIDDEN + d] - known(t.ids[p], p, d) * t.weights[p] * f),
        );
    expect(t.weights[2]).toBe(1.5); // "red"
    expect(maxErr).toBeLessThan(1e-5);
  });

  it('encodes long prompts as several windows and pads the shorter prompt of a pair', async () => {
    const { enc } = await encoder('b');
    const long = Array.from({ length: 100 }, () => 'photo').join(' ');
    const { cond, uncond } = await enc.encodePair(long, 'cat');
    expect(cond.windows).toBe(2);
    expect(uncond.windows).toBe(2);
    expect(cond.data.length).toBe(2 * 77 * HIDDEN);
    // Window 2 starts with BOS again at position 0 of its own window.
    const bos = 524; // fixture vocabulary: 512 byte symbols + 12 merges, then <|startoftext|>
    expect(cond.data[77 * HIDDEN]).toBeCloseTo(known(bos, 0, 0), 5);
  });

  it('keeps recent prompts in an LRU cache of the configured size', async () => {
    const { enc } = await encoder('c');
    const a = await enc.encode('cat');
    expect(await enc.encode('cat')).toBe(a);
    await enc.encode('photo');
    await enc.encode('cat'); // refreshes "cat"
    await enc.encode('red'); // evicts "photo"
    expect(enc.cached).toBe(2);
    expect(await enc.encode('cat')).toBe(a);
  });

  it('feeds int64 input_ids to exports that declare them', async () => {
    const { enc } = await encoder('d', { inputIdsType: 'int64' });
    const e = await enc.encode('cat');
    expect(e.data.length).toBe(77 * HIDDEN);
  });
});
