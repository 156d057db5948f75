/** When each word and phoneme of a speech is heard: what animators use to shape the mouth. */

export interface SpeechTiming {
  /** Seconds from the start of the audio. */
  start: number;
  end: number;
  /** The word as written, or the phoneme in IPA. */
  text: string;
  kind: 'word' | 'phoneme' | 'viseme';
}

/**
 * Words as the offline voice reads them: whitespace-separated tokens, each Han character its own
 * token (one syllable each), outer punctuation removed; tokens without a letter or digit dropped
 * (they are not spoken as words).
 */
export function speechTokens(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\s+/u)) {
    for (const part of raw.split(/(\p{Script=Han})/u)) {
      const t = part.replace(/^[\p{P}\p{S}]+|[\p{P}\p{S}]+$/gu, '');
      if (/[\p{L}\p{N}]/u.test(t)) out.push(t);
    }
  }
  return out;
}

const VOWELS = /[aeiouyɑɐɒæɔəɘɛɜɞɤɨɪʊʉɯɵøœɶʌʏɚɝᵻ]/u;

/**
 * IPA phonemes of one word as eSpeak NG prints them with `--ipa --sep=_`: stress marks, tone
 * digits and eSpeak's language-switch tags removed.
 */
export function splitIpa(line: string): string[] {
  return line
    .replace(/\([a-z-]+\)/g, '')
    .split(/[_\s]+/)
    .map((p) => p.replace(/[ˈˌ\d]/g, ''))
    .filter((p) => p.length > 0);
}

/** Relative length of a phoneme: vowels twice a consonant, long vowels and diphthongs more. */
export function phonemeWeight(p: string): number {
  if (!VOWELS.test(p)) return 1;
  const vowels = [...p].filter((c) => VOWELS.test(c)).length;
  return 2 + (p.includes('ː') ? 0.5 : 0) + (vowels > 1 ? 0.5 : 0);
}

/**
 * Phonemes spread over their word's interval in proportion to phonemeWeight. The word interval is
 * measured; the split inside it is this estimate (docs/talk.md says so).
 */
export function spreadPhonemes(word: SpeechTiming, phonemes: readonly string[]): SpeechTiming[] {
  if (phonemes.length === 0) return [];
  const weights = phonemes.map(phonemeWeight);
  const total = weights.reduce((a, b) => a + b, 0);
  const span = word.end - word.start;
  const out: SpeechTiming[] = [];
  let t = word.start;
  phonemes.forEach((p, i) => {
    const end = i === phonemes.length - 1 ? word.end : t + (span * weights[i]!) / total;
    out.push({ start: t, end, text: p, kind: 'phoneme' });
    t = end;
  });
  return out;
}

/** Words and their phonemes in time order (words before the phonemes that start with them). */
export function mergeTimings(
  words: readonly SpeechTiming[],
  phonemes: readonly SpeechTiming[],
): SpeechTiming[] {
  const rank = { word: 0, phoneme: 1, viseme: 2 } as const;
  return [...words, ...phonemes].sort((a, b) => a.start - b.start || rank[a.kind] - rank[b.kind]);
}
