/**
 * CLIP's byte-level BPE tokenizer, read from a diffusers `tokenizer/` folder in either layout
 * (vocab.json + merges.txt, or tokenizer.json: tokenizer-files.ts). Written here rather than
 * taken from a library: @huggingface/tokenizers reads only tokenizer.json (older SD exports ship
 * only the slow tokenizer's vocab.json + merges.txt), and the algorithm is short. See
 * docs/DECISIONS.md.
 *
 * Same steps as transformers' CLIPTokenizer:
 * - clean-up: ftfy.fix_text's common fixes (quotes, ligatures, full-width, control characters,
 *   NFC), HTML entities unescaped, runs of whitespace collapsed to one space, lower-cased;
 * - pre-tokenise with CLIP's pattern (contractions, letter runs, single digits, other symbols);
 * - each piece's UTF-8 bytes mapped to printable characters (GPT-2's bytes_to_unicode), the last
 *   one marked with "</w>", then merged by BPE rank;
 * - <|startoftext|> and <|endoftext|> are whole tokens; unknown pieces map to the unk token.
 */
import { ModelError } from '../../base/errors.ts';
import { readTokenizerFolder, type TokenizerFiles } from './tokenizer-files.ts';

export type { TokenizerFiles } from './tokenizer-files.ts';

/** GPT-2/CLIP byte → printable character table. */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let c = 33; c <= 126; c++) bs.push(c);
  for (let c = 161; c <= 172; c++) bs.push(c);
  for (let c = 174; c <= 255; c++) bs.push(c);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const table: string[] = new Array(256);
  bs.forEach((b, i) => {
    table[b] = String.fromCharCode(cs[i]);
  });
  return table;
}

export const BYTE_CHARS: readonly string[] = bytesToUnicode();

const PATTERN =
  /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
};

function unescapeHtml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, body: string) => {
    if (body[0] === '#') {
      const code =
        body[1] === 'x' || body[1] === 'X'
          ? Number.parseInt(body.slice(2), 16)
          : Number.parseInt(body.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    }
    return NAMED_ENTITIES[body.toLowerCase()] ?? m;
  });
}

const LIGATURES: Record<string, string> = {
  '\ufb00': 'ff',
  '\ufb01': 'fi',
  '\ufb02': 'fl',
  '\ufb03': 'ffi',
  '\ufb04': 'ffl',
  '\ufb05': 'st',
  '\ufb06': 'st',
};

/**
 * The parts of ftfy.fix_text (default settings) that change prompts in practice: curly quotes
 * straightened, Latin ligatures split, full-width ASCII made half-width, control characters
 * dropped, then NFC.
 */
function fixText(t: string): string {
  return t
    .replace(/[\u2018\u2019\u201a\u201b\u2032]/g, "'")
    .replace(/[\u201c\u201d\u201e\u201f\u2033]/g, '"')
    .replace(/[\ufb00-\ufb06]/g, (c) => LIGATURES[c] ?? c)
    .replace(/[\uff01-\uff5e]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/\u3000/g, ' ')
    .replace(/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/g, '')
    .normalize('NFC');
}

/** CLIP's basic_clean (ftfy + HTML unescape) + whitespace_clean + lower(). */
export function cleanText(text: string): string {
  // transformers unescapes twice (double-escaped web text).
  const t = unescapeHtml(unescapeHtml(fixText(text)));
  return t.replace(/\s+/g, ' ').trim().toLowerCase();
}

function tokenName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string')
    return (v as { content: string }).content;
  return undefined;
}

export class ClipTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number;
  /** Window length including BOS and EOS (77 for CLIP ViT-L/14). */
  readonly maxLength: number;
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, number[]>();

  constructor(private readonly files: TokenizerFiles) {
    const v = files.vocab;
    const need = (name: string): number => {
      const id = v[name];
      if (id === undefined)
        throw new ModelError('bad_tokenizer', `The tokenizer vocabulary has no "${name}" token.`);
      return id;
    };
    const special = files.special ?? {};
    this.bosId = need(tokenName(special.bos_token) ?? '<|startoftext|>');
    this.eosId = need(tokenName(special.eos_token) ?? '<|endoftext|>');
    this.unkId = need(tokenName(special.unk_token) ?? '<|endoftext|>');
    this.padId = need(tokenName(special.pad_token) ?? '<|endoftext|>');
    this.maxLength = files.modelMaxLength ?? 77;
    // A repeated merge keeps its last rank, as the reference tokenizers' dicts do.
    files.merges.forEach(([a, b], rank) => {
      this.ranks.set(`${a} ${b}`, rank);
    });
  }

  /** Load from a diffusers tokenizer folder (either layout); a missing file is named in the error. */
  static fromFolder(dir: string): ClipTokenizer {
    return new ClipTokenizer(readTokenizerFolder(dir));
  }

  private bpe(piece: string): number[] {
    const hit = this.cache.get(piece);
    if (hit) return hit;
    let word = [...piece];
    word[word.length - 1] += '</w>';
    while (word.length > 1) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const a = word[best];
      const b = word[best + 1];
      // Merge every occurrence of the pair, left to right (as the reference does).
      const next: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i < word.length - 1 && word[i] === a && word[i + 1] === b) {
          next.push(a + b);
          i++;
        } else next.push(word[i]);
      }
      word = next;
    }
    const ids = word.map((w) => this.files.vocab[w] ?? this.unkId);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(piece, ids);
    return ids;
  }

  /** Token ids of a text, without BOS/EOS and without truncation. */
  encode(text: string): number[] {
    const out: number[] = [];
    const clean = cleanText(text);
    for (const m of clean.matchAll(PATTERN)) {
      const piece = m[0];
      if (piece === '<|startoftext|>') out.push(this.bosId);
      else if (piece === '<|endoftext|>') out.push(this.eosId);
      else {
        let mapped = '';
        for (const b of new TextEncoder().encode(piece)) mapped += BYTE_CHARS[b];
        out.push(...this.bpe(mapped));
      }
    }
    return out;
  }

  /** One model window: BOS + up to maxLength-2 tokens + EOS, padded with the pad token. */
  window(ids: readonly number[]): Int32Array {
    const inner = this.maxLength - 2;
    if (ids.length > inner) throw new RangeError(`window takes at most ${inner} tokens`);
    const out = new Int32Array(this.maxLength).fill(this.padId);
    out[0] = this.bosId;
    out.set(ids, 1);
    out[ids.length + 1] = this.eosId;
    return out;
  }
}
