/**
 * Reads a CLIP tokenizer folder in either layout an export may have:
 *
 *   vocab.json + merges.txt (+ special_tokens_map.json, tokenizer_config.json)
 *       the slow tokenizer's files, as SD 1.5 exports made with transformers < 5 carry them;
 *   tokenizer.json (+ tokenizer_config.json)
 *       the tokenizers library's single file, all that transformers >= 5 saves: model.vocab,
 *       model.merges as "a b" strings or as [a, b] pairs (newer tokenizers versions), and the
 *       special tokens in added_tokens.
 *
 * When both are present the separate files are read (what the slow tokenizer, and this project
 * before tokenizer.json support, used). A folder with neither complete is refused, naming what
 * is missing.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ModelError } from '../../base/errors.ts';

export interface TokenizerFiles {
  vocab: Record<string, number>;
  /** BPE merges in rank order. */
  merges: readonly (readonly [string, string])[];
  /** Parsed special_tokens_map.json / tokenizer_config.json, if any. */
  special?: Record<string, unknown>;
  modelMaxLength?: number;
}

/** The slow layout's two files, or the fast layout's one. */
export const SLOW_TOKENIZER_FILES = ['vocab.json', 'merges.txt'] as const;
export const FAST_TOKENIZER_FILE = 'tokenizer.json';

/** What is missing from a tokenizer folder, or undefined when one layout is complete. */
export function tokenizerProblem(dir: string): string | undefined {
  if (existsSync(path.join(dir, FAST_TOKENIZER_FILE))) return undefined;
  const missing = SLOW_TOKENIZER_FILES.filter((f) => !existsSync(path.join(dir, f)));
  if (missing.length === 0) return undefined;
  const rel = path.basename(dir);
  return `${missing.map((f) => `${rel}/${f}`).join(' and ')} (or ${rel}/${FAST_TOKENIZER_FILE})`;
}

function bad(message: string, cause?: unknown): ModelError {
  return new ModelError('bad_tokenizer', message, cause === undefined ? {} : { cause });
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new ModelError('model_missing_file', `Tokenizer file ${file} is missing or unreadable.`, {
      cause: e,
    });
  }
}

function readJson(file: string): Record<string, unknown> {
  const text = readText(file);
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw bad(`${file} is not valid JSON: ${(e as Error).message}`, e);
  }
}

function optionalJson(file: string): Record<string, unknown> | undefined {
  return existsSync(file) ? readJson(file) : undefined;
}

function checkVocab(v: unknown, where: string): Record<string, number> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad(`${where} has no vocabulary object.`);
  for (const [k, id] of Object.entries(v))
    if (!Number.isInteger(id) || (id as number) < 0) throw bad(`${where}: token "${k}" has no valid id.`);
  return v as Record<string, number>;
}

/** merges.txt: one "a b" per line; a first line "#version: ..." is skipped. */
export function parseMergesTxt(text: string, where = 'merges.txt'): [string, string][] {
  const out: [string, string][] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if ((i === 0 && line.startsWith('#version')) || line.trim() === '') continue;
    const parts = line.split(' ');
    if (parts.length !== 2) throw bad(`${where} line ${i + 1} is not two symbols: "${line}".`);
    out.push([parts[0], parts[1]]);
  }
  return out;
}

/** tokenizer.json's model.merges: "a b" strings (older files) or [a, b] pairs (newer ones). */
function parseJsonMerges(merges: unknown, where: string): [string, string][] {
  if (!Array.isArray(merges)) throw bad(`${where} has no model.merges list.`);
  return merges.map((m, i) => {
    if (typeof m === 'string') {
      const parts = m.split(' ');
      if (parts.length === 2) return [parts[0], parts[1]];
    } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string')
      return [m[0], m[1]];
    throw bad(`${where}: merge ${i + 1} is neither "a b" nor a pair of strings.`);
  });
}

function maxLength(config: Record<string, unknown>, fallback?: unknown): number {
  for (const v of [config.model_max_length, fallback])
    if (typeof v === 'number' && v > 2 && v < 100_000) return v;
  return 77;
}

/** Read a tokenizer folder in either layout (see the module comment). */
export function readTokenizerFolder(dir: string): TokenizerFiles {
  const config = optionalJson(path.join(dir, 'tokenizer_config.json')) ?? {};
  const slow = SLOW_TOKENIZER_FILES.every((f) => existsSync(path.join(dir, f)));
  if (slow || !existsSync(path.join(dir, FAST_TOKENIZER_FILE))) {
    const problem = tokenizerProblem(dir);
    if (problem)
      throw new ModelError(
        'model_missing_file',
        `Tokenizer folder ${dir} is missing ${problem}: it needs vocab.json and merges.txt, or tokenizer.json.`,
        { context: { dir } },
      );
    const vocabFile = path.join(dir, 'vocab.json');
    const mergesFile = path.join(dir, 'merges.txt');
    const map = optionalJson(path.join(dir, 'special_tokens_map.json')) ?? {};
    return {
      vocab: checkVocab(readJson(vocabFile), vocabFile),
      merges: parseMergesTxt(readText(mergesFile), mergesFile),
      special: { ...config, ...map },
      modelMaxLength: maxLength(config),
    };
  }
  const file = path.join(dir, FAST_TOKENIZER_FILE);
  const json = readJson(file);
  const model = json.model as Record<string, unknown> | undefined;
  if (!model || typeof model !== 'object') throw bad(`${file} has no "model" section.`);
  if (model.type !== undefined && model.type !== 'BPE')
    throw bad(`${file} holds a ${String(model.type)} tokenizer; CLIP's is BPE.`);
  const suffix = model.end_of_word_suffix;
  if (suffix !== undefined && suffix !== null && suffix !== '</w>')
    throw bad(`${file}: word-end suffix "${String(suffix)}" is not CLIP's "</w>".`);
  const vocab = { ...checkVocab(model.vocab, `${file} model.vocab`) };
  // Special tokens may live only in added_tokens.
  for (const t of Array.isArray(json.added_tokens) ? json.added_tokens : []) {
    const { id, content } = (t ?? {}) as { id?: unknown; content?: unknown };
    if (typeof content === 'string' && Number.isInteger(id) && !(content in vocab))
      vocab[content] = id as number;
  }
  const truncation = json.truncation as { max_length?: unknown } | null | undefined;
  return {
    vocab,
    merges: parseJsonMerges(model.merges, file),
    special: config,
    modelMaxLength: maxLength(config, truncation?.max_length),
  };
}
