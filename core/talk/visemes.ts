/**
 * Mouth shapes for speech sounds: how open the mouth is and whether the lips are rounded or
 * spread. Phonemes come as eSpeak mnemonics (ASCII, e.g. "aI", "@", "tS") or IPA; visemes as
 * the 22 numeric ids of the Microsoft/Azure viseme set (0 = silence ... 21 = p b m). Anything
 * unknown gets a neutral half-open shape rather than a closed mouth.
 */
import type { TimedUnit } from './types.ts';

export interface MouthShape {
  /** 0 closed .. 1 wide open. */
  open: number;
  /** -1 rounded .. 1 spread. */
  width: number;
}

const SILENT: MouthShape = { open: 0, width: 0 };
const NEUTRAL: MouthShape = { open: 0.35, width: 0 };

/** First-symbol classes (longest prefixes first). */
const PHONEMES: readonly (readonly [string[], MouthShape])[] = [
  [
    ['tS', 'dZ', 'tʃ', 'dʒ', 'ʧ', 'ʤ', 'tɕ', 'dʑ', 'tʂ', 'S', 'Z', 'ʃ', 'ʒ', 'ɕ', 'ʑ', 'ʂ', 'ʐ'],
    { open: 0.25, width: -0.5 },
  ],
  [['p', 'b', 'm'], { open: 0, width: 0 }],
  [['f', 'v'], { open: 0.08, width: 0.1 }],
  [['w', 'W', 'ʍ'], { open: 0.12, width: -0.9 }],
  [['T', 'D', 'θ', 'ð'], { open: 0.2, width: 0.1 }],
  [['t', 'd', 'n', 'l', 's', 'z', 'ɾ', 'ɫ', 'ts', 'dz'], { open: 0.22, width: 0.15 }],
  [['r', 'ɹ', 'ɻ', 'R', 'ʁ'], { open: 0.25, width: -0.35 }],
  [['k', 'g', 'ɡ', 'N', 'ŋ', 'x', 'h', 'ɣ', 'q', 'ʔ', 'ɦ'], { open: 0.3, width: 0 }],
  [['j', 'J', 'ɲ'], { open: 0.2, width: 0.5 }],
  [['a', 'A', 'ɑ', 'æ', '{', 'ɐ', 'ʌ', 'V', 'ä'], { open: 0.95, width: 0.15 }],
  [['e', 'E', 'ɛ', 'ɜ', '3'], { open: 0.6, width: 0.45 }],
  [['i', 'I', 'ɪ', 'ɨ', 'ᵻ'], { open: 0.3, width: 0.8 }],
  [['o', 'O', 'ɔ', 'ɒ', '0'], { open: 0.65, width: -0.7 }],
  [['u', 'U', 'ʊ', 'ɯ', 'ʉ'], { open: 0.35, width: -0.9 }],
  [['y', 'Y', 'ø', 'œ', 'ʏ'], { open: 0.35, width: -0.7 }],
  [['@', 'ə', 'ɚ', 'ɝ', 'ɘ', 'ɵ', 'ɤ'], { open: 0.45, width: 0 }],
];

/** The Azure viseme ids 0..21 (speech.microsoft.com's viseme table). */
const VISEMES: readonly MouthShape[] = [
  SILENT, // 0 silence
  { open: 0.8, width: 0.1 }, // 1 æ ə ʌ
  { open: 1, width: 0.1 }, // 2 ɑ
  { open: 0.7, width: -0.6 }, // 3 ɔ
  { open: 0.55, width: 0.3 }, // 4 ɛ ʊ
  { open: 0.45, width: -0.2 }, // 5 ɝ
  { open: 0.3, width: 0.8 }, // 6 j i ɪ
  { open: 0.2, width: -0.9 }, // 7 w u
  { open: 0.6, width: -0.7 }, // 8 o
  { open: 0.8, width: -0.3 }, // 9 aʊ
  { open: 0.7, width: -0.4 }, // 10 ɔɪ
  { open: 0.85, width: 0.2 }, // 11 aɪ
  { open: 0.35, width: 0 }, // 12 h
  { open: 0.25, width: -0.35 }, // 13 ɹ
  { open: 0.3, width: 0.1 }, // 14 l
  { open: 0.2, width: 0.3 }, // 15 s z
  { open: 0.25, width: -0.5 }, // 16 ʃ tʃ dʒ ʒ
  { open: 0.2, width: 0.1 }, // 17 ð
  { open: 0.08, width: 0.1 }, // 18 f v
  { open: 0.22, width: 0.15 }, // 19 d t n θ
  { open: 0.3, width: 0 }, // 20 k g ŋ
  { open: 0, width: 0 }, // 21 p b m
];

export function phonemeShape(text: string): MouthShape {
  const t = text.trim().replace(/^['ˈˌ,%=ʰ]+/, '');
  if (t === '' || t === '_' || t.startsWith('_') || t === 'sil' || t === 'pau' || t === 'sp') return SILENT;
  let best: MouthShape | undefined;
  let bestLen = 0;
  for (const [prefixes, shape] of PHONEMES)
    for (const p of prefixes)
      if (p.length > bestLen && t.startsWith(p)) {
        best = shape;
        bestLen = p.length;
      }
  return best ?? NEUTRAL;
}

export function visemeShape(text: string): MouthShape {
  const id = Number(text.trim());
  if (Number.isInteger(id) && id >= 0 && id < VISEMES.length) return VISEMES[id]!;
  return phonemeShape(text);
}

export interface ShapeTrack {
  open: Float32Array;
  width: Float32Array;
  /** 1 inside a timed unit (a word or a sound), 0 in the pauses between them. */
  voiced: Float32Array;
  /** Whether the timing carried mouth shapes (phonemes/visemes) or only words. */
  shaped: boolean;
}

/** Per-frame mouth targets from speech timing (the frame's centre time picks the unit). */
export function shapeTrack(timing: readonly TimedUnit[], fps: number, frames: number): ShapeTrack {
  const shaped = timing.some((u) => u.kind !== 'word');
  const units = timing
    .filter((u) => (shaped ? u.kind !== 'word' : true) && Number.isFinite(u.start) && u.end > u.start)
    .slice()
    .sort((a, b) => a.start - b.start);
  const open = new Float32Array(frames);
  const width = new Float32Array(frames);
  const voiced = new Float32Array(frames);
  let j = 0;
  for (let i = 0; i < frames; i++) {
    const t = (i + 0.5) / fps;
    while (j < units.length && units[j]!.end <= t) j++;
    const u = units[j];
    if (!u || u.start > t) continue;
    const shape = !shaped ? NEUTRAL : u.kind === 'viseme' ? visemeShape(u.text) : phonemeShape(u.text);
    voiced[i] = shape === SILENT ? 0 : 1;
    open[i] = shape.open;
    width[i] = shape.width;
  }
  return { open, width, voiced, shaped };
}
