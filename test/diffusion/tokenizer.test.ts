import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyWeights, parseAttention, tokenizePrompt } from '../../core/diffusion/prompt.ts';
import { ClipTokenizer, cleanText } from '../../core/diffusion/tokenizer.ts';
import { fixtureVocab, writeFixtureTokenizer } from '../../models/fixtures/clip-vocab.ts';
import { writeFastTokenizer } from './helpers.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'fc-tok-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFixtureTokenizer(path.join(dir, 'tokenizer'));
const tok = ClipTokenizer.fromFolder(path.join(dir, 'tokenizer'));
const V = fixtureVocab();
const id = (s: string): number => {
  const v = V[s];
  if (v === undefined) throw new Error(`no ${s} in the test vocabulary`);
  return v;
};

describe('CLIP tokenizer on a test vocabulary', () => {
  it('cleans text like CLIP: HTML entities, NFC, whitespace, lower case', () => {
    expect(cleanText('  A   PHOTO\n\tOf &amp;amp; Cafe\u0301 ')).toBe('a photo of & café');
    // ftfy's default fixes: curly quotes, ligatures, full-width letters, control characters.
    expect(cleanText('\u201cit\u2019s a \ufb01ne ＰＨＯＴＯ\u0007\u201d')).toBe('"it\'s a fine photo"');
  });

  it('applies merges by rank and marks word ends', () => {
    expect(tok.encode('photo')).toEqual([id('photo</w>')]);
    expect(tok.encode('A photo of a cat and a red cat')).toEqual([
      id('a</w>'),
      id('photo</w>'),
      id('of</w>'),
      id('a</w>'),
      id('cat</w>'),
      id('and</w>'),
      id('a</w>'),
      id('red</w>'),
      id('cat</w>'),
    ]);
    // No merge for "ot o</w>" at the start: "otto" stays in pieces the merges allow.
    expect(tok.encode('otto')).toEqual([id('ot'), id('t'), id('o</w>')]);
  });

  it('splits punctuation, contractions and digits as CLIP does', () => {
    expect(tok.encode('photo, of!!')).toEqual([
      id('photo</w>'),
      id(',</w>'),
      id('of</w>'),
      id('!'),
      id('!</w>'),
    ]);
    expect(tok.encode("it's")).toEqual([id('it</w>'), id("'"), id('s</w>')]);
    expect(tok.encode('a12')).toEqual([id('a</w>'), id('1</w>'), id('2</w>')]);
  });

  it('maps UTF-8 bytes through the printable byte table (é, emoji)', () => {
    // é = C3 A9: both bytes are printable Latin-1 and stand for themselves.
    expect(tok.encode('é')).toEqual([id('Ã'), id('©</w>')]);
    // 😀 = F0 9F 98 80: F0 is printable (ð); 9F, 98, 80 are not and map to 256 + their index
    // among non-printable bytes (0-32 are 0..32, 127-160 are 33..66): 321 Ł, 314 ĺ, 290 Ģ.
    expect(tok.encode('😀')).toEqual([id('ð'), id('Ł'), id('ĺ'), id('Ģ</w>')]);
  });

  it('keeps special tokens whole', () => {
    expect(tok.encode('<|startoftext|>cat<|endoftext|>')).toEqual([tok.bosId, id('cat</w>'), tok.eosId]);
  });

  it('builds 77-token windows: BOS, tokens, EOS, padding from the tokenizer config', () => {
    const w = tok.window([id('cat</w>')]);
    expect(w.length).toBe(77);
    expect(Array.from(w.slice(0, 4))).toEqual([
      id('<|startoftext|>'),
      id('cat</w>'),
      id('<|endoftext|>'),
      id('<|endoftext|>'),
    ]);
    writeFixtureTokenizer(path.join(dir, 'tok-pad'), { padToken: '!' });
    const t2 = ClipTokenizer.fromFolder(path.join(dir, 'tok-pad'));
    expect(Array.from(t2.window([id('cat</w>')]).slice(0, 4))).toEqual([
      tok.bosId,
      id('cat</w>'),
      tok.eosId,
      id('!'),
    ]);
  });

  it('names a missing tokenizer file', () => {
    expect(() => ClipTokenizer.fromFolder(path.join(dir, 'nope'))).toThrow(
      /missing nope\/vocab\.json and nope\/merges\.txt \(or nope\/tokenizer\.json\)/,
    );
  });
});

describe('prompt attention syntax', () => {
  it('parses (), [], (text:w), nesting and escapes', () => {
    expect(parseAttention('a (photo) of [cat]')).toEqual([
      { text: 'a ', weight: 1 },
      { text: 'photo', weight: 1.1 },
      { text: ' of ', weight: 1 },
      { text: 'cat', weight: 1 / 1.1 },
    ]);
    expect(parseAttention('(red cat:1.3), ((photo))')).toEqual([
      { text: 'red cat', weight: 1.3 },
      { text: ', ', weight: 1 },
      { text: 'photo', weight: 1.1 * 1.1 },
    ]);
    expect(parseAttention('\\(cat\\) (dog')).toEqual([
      { text: '(cat) ', weight: 1 },
      { text: 'dog', weight: 1.1 },
    ]);
    expect(parseAttention('')).toEqual([{ text: '', weight: 1 }]);
  });

  it('carries weights onto tokens', () => {
    const t = tokenizePrompt(tok, 'a (red cat:1.5)');
    expect(t.windows).toBe(1);
    expect(Array.from(t.ids.slice(0, 5))).toEqual([
      tok.bosId,
      id('a</w>'),
      id('red</w>'),
      id('cat</w>'),
      tok.eosId,
    ]);
    expect(Array.from(t.weights.slice(0, 5))).toEqual([1, 1, 1.5, 1.5, 1]);
  });

  it('splits long prompts into several windows instead of cutting them', () => {
    const words = Array.from({ length: 200 }, (_, i) => (i % 2 ? 'cat' : 'photo')).join(' ');
    const t = tokenizePrompt(tok, words);
    expect(t.tokenCount).toBe(200);
    expect(t.windows).toBe(3); // 75 + 75 + 50
    for (let w = 0; w < 3; w++) {
      expect(t.ids[w * 77]).toBe(tok.bosId);
      const n = w < 2 ? 75 : 50;
      expect(t.ids[w * 77 + n + 1]).toBe(tok.eosId);
    }
    expect(t.ids[2 * 77 + 1]).toBe(id('photo</w>')); // token 150 is even → "photo"
    expect(tokenizePrompt(tok, 'cat', 3).windows).toBe(3); // padded to match the other prompt
  });

  it('"plain" reads brackets and weights as characters and cuts to one window, as diffusers does', () => {
    const text = '(<fcsks>:10), a (red cat:1.5)';
    const plain = tokenizePrompt(tok, text, 1, 'plain');
    const all = tok.encode(text);
    expect(all).toContain(id('('));
    expect(Array.from(plain.ids.slice(1, all.length + 1))).toEqual(all);
    expect(plain.ids[all.length + 1]).toBe(tok.eosId);
    expect(Array.from(plain.weights).every((w) => w === 1)).toBe(true);
    expect(plain.truncated).toBe(0);
    // The same text with A1111 weights: no bracket tokens, weights 10 and 1.5.
    const weighted = tokenizePrompt(tok, text);
    expect(Array.from(weighted.ids)).not.toContain(id('('));
    expect(new Set(weighted.weights)).toEqual(new Set([1, 10, 1.5]));

    const words = Array.from({ length: 200 }, () => 'cat').join(' ');
    const cut = tokenizePrompt(tok, words, 1, 'plain');
    expect([cut.windows, cut.tokenCount, cut.truncated]).toEqual([1, 200, 125]);
    expect(cut.ids[76]).toBe(tok.eosId);
  });

  it('scales weighted token embeddings and restores the window mean', () => {
    const L = 3;
    const dim = 2;
    const h = new Float32Array([1, 1, 2, 2, 3, 3]);
    applyWeights(h, new Float32Array([1, 2, 1]), L, dim);
    // Weighted: [1,1,4,4,3,3] (sum 16); original sum 12 → everything × 0.75.
    expect(Array.from(h)).toEqual([0.75, 0.75, 3, 3, 2.25, 2.25]);
  });
});

describe('tokenizer.json layout (transformers >= 5)', () => {
  const TEXTS = [
    'A photo of a cat and a red cat',
    "otto, photo!! of it's a12",
    'é 😀 <|startoftext|>cat<|endoftext|>',
    '(<fcsks>:10), a beautiful woman, upper_body, raw photo',
    Array.from({ length: 120 }, (_, i) => (i % 3 ? 'cat' : 'photo')).join(' '),
  ];

  for (const merges of ['strings', 'pairs'] as const)
    it(`gives the same ids as vocab.json + merges.txt (merges as ${merges})`, () => {
      const fast = path.join(dir, `fast-${merges}`);
      writeFastTokenizer(fast, merges);
      const t = ClipTokenizer.fromFolder(fast);
      expect([t.bosId, t.eosId, t.padId, t.unkId, t.maxLength]).toEqual([
        tok.bosId,
        tok.eosId,
        tok.padId,
        tok.unkId,
        tok.maxLength,
      ]);
      for (const text of TEXTS) {
        expect(t.encode(text), text).toEqual(tok.encode(text));
        expect(Array.from(tokenizePrompt(t, text).ids), text).toEqual(
          Array.from(tokenizePrompt(tok, text).ids),
        );
      }
    });

  it('is used by a model folder that has no vocab.json / merges.txt', () => {
    const folder = path.join(dir, 'model');
    mkdirSync(folder, { recursive: true });
    writeFastTokenizer(path.join(folder, 'tokenizer'), 'pairs');
    expect(ClipTokenizer.fromFolder(path.join(folder, 'tokenizer')).encode('red cat')).toEqual([
      id('red</w>'),
      id('cat</w>'),
    ]);
  });

  it('refuses an incomplete or foreign tokenizer with a clear error', () => {
    const only = path.join(dir, 'vocab-only');
    writeFixtureTokenizer(only);
    rmSync(path.join(only, 'merges.txt'));
    expect(() => ClipTokenizer.fromFolder(only)).toThrow(
      /missing vocab-only\/merges\.txt \(or vocab-only\/tokenizer\.json\): it needs vocab\.json and merges\.txt, or tokenizer\.json/,
    );
    const write = (name: string, model: Record<string, unknown>) => {
      const d = path.join(dir, name);
      mkdirSync(d, { recursive: true });
      writeFileSync(path.join(d, 'tokenizer.json'), JSON.stringify({ model }));
      return d;
    };
    expect(() =>
      ClipTokenizer.fromFolder(write('no-merges', { type: 'BPE', vocab: fixtureVocab() })),
    ).toThrow(/has no model\.merges list/);
    expect(() =>
      ClipTokenizer.fromFolder(
        write('bad-merge', { type: 'BPE', vocab: fixtureVocab(), merges: ['p h', 'ph'] }),
      ),
    ).toThrow(/merge 2 is neither "a b" nor a pair of strings/);
    expect(() => ClipTokenizer.fromFolder(write('wordpiece', { type: 'WordPiece', vocab: {} }))).toThrow(
      /holds a WordPiece tokenizer; CLIP's is BPE/,
    );
    expect(() =>
      ClipTokenizer.fromFolder(write('no-specials', { type: 'BPE', vocab: { a: 0 }, merges: [] })),
    ).toThrow(/has no "<\|startoftext\|>" token/);
    const broken = path.join(dir, 'broken-json');
    mkdirSync(broken, { recursive: true });
    writeFileSync(path.join(broken, 'tokenizer.json'), '{"model": ');
    expect(() => ClipTokenizer.fromFolder(broken)).toThrow(/tokenizer\.json is not valid JSON/);
  });
});
