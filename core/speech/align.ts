/**
 * Word timing for the offline voice. eSpeak NG's command line reports no word or phoneme events
 * (its `--pho` output needs an MBROLA voice), so the words are found by synthesis-based alignment:
 * the same voice reads each word on its own (separated by clause pauses, so each word's span is
 * known), and dynamic time warping on MFCCs maps that reading onto the continuous one.
 */

const HOP_S = 0.01;
const WIN_S = 0.02;
const MEL_BANDS = 26;
const CEPSTRA = 12; // c1..c12: c0 (loudness) left out, so gain does not matter

/** In-place iterative radix-2 FFT. */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const tr = re[i]!;
      re[i] = re[j]!;
      re[j] = tr;
      const ti = im[i]!;
      im[i] = im[j]!;
      im[j] = ti;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k;
        const b = a + len / 2;
        const xr = re[b]! * cr - im[b]! * ci;
        const xi = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
        const t = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = t;
      }
    }
  }
}

const mel = (hz: number) => 2595 * Math.log10(1 + hz / 700);
const melInv = (m: number) => 700 * (10 ** (m / 2595) - 1);

/** Analysis setup for one sample rate: window, FFT size, sparse mel filters, DCT table. */
interface Analysis {
  hop: number;
  win: number;
  n: number;
  hann: Float64Array;
  filters: { from: number; weights: Float64Array }[];
  dct: Float64Array;
}

const analyses = new Map<number, Analysis>();

function analysis(rate: number): Analysis {
  const known = analyses.get(rate);
  if (known) return known;
  const hop = Math.round(rate * HOP_S);
  const win = Math.round(rate * WIN_S);
  let n = 1;
  while (n < win) n <<= 1;
  const hann = Float64Array.from(
    { length: win },
    (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (win - 1)),
  );
  // Triangular mel filters, 80 Hz to min(7600 Hz, Nyquist).
  const lo = mel(80);
  const hi = mel(Math.min(7600, rate / 2 - 1));
  const edges = Array.from(
    { length: MEL_BANDS + 2 },
    (_, i) => (melInv(lo + ((hi - lo) * i) / (MEL_BANDS + 1)) * n) / rate,
  );
  const filters = Array.from({ length: MEL_BANDS }, (_, b) => {
    const [l, c, r] = [edges[b]!, edges[b + 1]!, edges[b + 2]!];
    const from = Math.max(1, Math.ceil(l));
    const to = Math.min(n / 2, Math.floor(r));
    const weights = new Float64Array(Math.max(0, to - from + 1));
    for (let k = from; k <= to; k++) weights[k - from] = k < c ? (k - l) / (c - l) : (r - k) / (r - c);
    return { from, weights };
  });
  const dct = new Float64Array(CEPSTRA * MEL_BANDS);
  for (let k = 1; k <= CEPSTRA; k++)
    for (let b = 0; b < MEL_BANDS; b++)
      dct[(k - 1) * MEL_BANDS + b] = Math.cos((Math.PI * k * (b + 0.5)) / MEL_BANDS);
  const a = { hop, win, n, hann, filters, dct };
  analyses.set(rate, a);
  return a;
}

/** Energy per 10 ms frame (20 ms windows), dB relative to full scale. */
export function frameEnergyDb(samples: Float32Array, rate: number): Float32Array {
  const { hop, win } = analysis(rate);
  const frames = Math.max(0, Math.floor((samples.length - win) / hop) + 1);
  const out = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    let e = 0;
    for (let i = f * hop, end = f * hop + win; i < end; i++) e += samples[i]! ** 2;
    out[f] = 10 * Math.log10(e / win + 1e-12);
  }
  return out;
}

/** MFCCs c1..c12 of one 10 ms frame (20 ms Hann window). */
export function mfccFrame(samples: Float32Array, rate: number, f: number): Float32Array {
  const { hop, win, n, hann, filters, dct } = analysis(rate);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let i = 0; i < win; i++) re[i] = (samples[f * hop + i] ?? 0) * hann[i]!;
  fft(re, im);
  const bands = new Float64Array(MEL_BANDS);
  for (let b = 0; b < MEL_BANDS; b++) {
    const { from, weights } = filters[b]!;
    let sum = 0;
    for (let k = 0; k < weights.length; k++) sum += weights[k]! * (re[from + k]! ** 2 + im[from + k]! ** 2);
    bands[b] = Math.log(sum + 1e-10);
  }
  const v = new Float32Array(CEPSTRA);
  for (let k = 0; k < CEPSTRA; k++) {
    let s = 0;
    for (let b = 0; b < MEL_BANDS; b++) s += bands[b]! * dct[k * MEL_BANDS + b]!;
    v[k] = s;
  }
  return v;
}

/** MFCCs of every frame. */
export function mfccs(samples: Float32Array, rate: number): Float32Array[] {
  const frames = frameEnergyDb(samples, rate).length;
  return Array.from({ length: frames }, (_, f) => mfccFrame(samples, rate, f));
}

/** Frames quieter than the loudest by this much are silence. */
const SILENCE_BELOW_MAX_DB = 35;

/**
 * The `count` spoken segments of a reading of isolated words, as [first, last] frames: the
 * count-1 longest silences between the first and last sound separate them. Undefined when the
 * pauses cannot be told apart from gaps inside words (a separator shorter than 60 ms).
 */
export function isolatedSegments(energyDb: Float32Array, count: number): [number, number][] | undefined {
  if (count < 1) return undefined;
  let max = -Infinity;
  for (const e of energyDb) max = Math.max(max, e);
  const loud = Array.from(energyDb, (e) => e > max - SILENCE_BELOW_MAX_DB);
  const first = loud.indexOf(true);
  const last = loud.lastIndexOf(true);
  if (first < 0) return undefined;
  const gaps: { from: number; to: number }[] = [];
  for (let i = first; i <= last; i++) {
    if (loud[i]) continue;
    const from = i;
    while (i <= last && !loud[i]) i++;
    gaps.push({ from, to: i - 1 });
  }
  if (gaps.length < count - 1) return undefined;
  const chosen = [...gaps]
    .sort((a, b) => b.to - b.from - (a.to - a.from))
    .slice(0, count - 1)
    .sort((a, b) => a.from - b.from);
  if (chosen.some((g) => g.to - g.from + 1 < 6)) return undefined;
  const segments: [number, number][] = [];
  let start = first;
  for (const g of chosen) {
    segments.push([start, g.from - 1]);
    start = g.to + 1;
  }
  segments.push([start, last]);
  return segments;
}

/** Half-width of the band around the diagonal, as a fraction of the longer sequence. */
const BAND = 0.15;
/** Largest warping grid (cells) worth computing; longer speech goes without word timing. */
const MAX_CELLS = 30_000_000;

const dist = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += (a[k]! - b[k]!) ** 2;
  return Math.sqrt(s);
};

/**
 * Dynamic time warping of `ref` onto `tgt` inside a band around the diagonal; for each ref
 * frame, the first and last target frame it was matched with. Undefined past MAX_CELLS.
 */
export function dtw(
  ref: Float32Array[],
  tgt: Float32Array[],
): { first: Int32Array; last: Int32Array } | undefined {
  const N = ref.length;
  const M = tgt.length;
  const W = Math.max(100, Math.ceil(BAND * Math.max(N, M)));
  const lo = new Int32Array(N);
  const hi = new Int32Array(N);
  const offset = new Float64Array(N + 1);
  for (let i = 0; i < N; i++) {
    const c = N === 1 ? 0 : (i * (M - 1)) / (N - 1);
    lo[i] = Math.max(0, Math.floor(c - W));
    hi[i] = Math.min(M - 1, Math.ceil(c + W));
    offset[i + 1] = offset[i]! + hi[i]! - lo[i]! + 1;
  }
  if (offset[N]! > MAX_CELLS) return undefined;
  // Costs need only the previous row; the steps are kept (one byte a cell) to trace the path back.
  const step = new Uint8Array(offset[N]!); // 0 diagonal, 1 from i-1, 2 from j-1
  let prev = new Float32Array(M).fill(Infinity);
  let cur = new Float32Array(M).fill(Infinity);
  for (let i = 0; i < N; i++) {
    const l = lo[i]!;
    const h = hi[i]!;
    for (let j = l; j <= h; j++) {
      const d = dist(ref[i]!, tgt[j]!);
      const idx = offset[i]! + j - l;
      if (i === 0 && j === 0) {
        cur[j] = d;
        continue;
      }
      const inPrev = i > 0 && j <= hi[i - 1]!;
      const diag = i > 0 && j > 0 && j - 1 >= lo[i - 1]! && j - 1 <= hi[i - 1]! ? prev[j - 1]! : Infinity;
      const up = inPrev && j >= lo[i - 1]! ? prev[j]! : Infinity;
      const left = j > l ? cur[j - 1]! : Infinity;
      let best = diag;
      let s = 0;
      if (up < best) {
        best = up;
        s = 1;
      }
      if (left < best) {
        best = left;
        s = 2;
      }
      cur[j] = d + best;
      step[idx] = s;
    }
    // Reads of the previous row are range-checked, so the stale values left in `cur` are never used.
    [prev, cur] = [cur, prev];
  }
  const first = new Int32Array(N).fill(M);
  const last = new Int32Array(N).fill(-1);
  let i = N - 1;
  let j = M - 1;
  while (i >= 0 && j >= 0) {
    first[i] = Math.min(first[i]!, j);
    last[i] = Math.max(last[i]!, j);
    if (i === 0 && j === 0) break;
    const s = step[offset[i]! + j - lo[i]!];
    if (i === 0) j--;
    else if (s === 0) {
      i--;
      j--;
    } else if (s === 1) i--;
    else j--;
  }
  return { first, last };
}

/** Silence frames kept around and between words in the reference, to absorb the reading's pauses. */
const PAUSE_FRAMES = 8;

/**
 * Start and end (seconds) of each of `count` words in `continuous`, given `isolated`, the same
 * voice reading the words one per clause. Undefined when the isolated reading cannot be split.
 */
export function alignWords(
  isolated: { samples: Float32Array; sampleRate: number },
  continuous: { samples: Float32Array; sampleRate: number },
  count: number,
): { start: number; end: number }[] | undefined {
  const segments = isolatedSegments(frameEnergyDb(isolated.samples, isolated.sampleRate), count);
  if (!segments) return undefined;
  const tgt = mfccs(continuous.samples, continuous.sampleRate);
  if (tgt.length < 2) return undefined;
  // Silence as the voice makes it: a frame from the middle of the first pause.
  const firstGapMid = segments.length > 1 ? Math.floor((segments[0]![1] + segments[1]![0]) / 2) : 0;
  const isoFrame = (f: number) => mfccFrame(isolated.samples, isolated.sampleRate, f);
  const silence = isoFrame(firstGapMid);
  const ref: Float32Array[] = [];
  const spans: [number, number][] = [];
  const pause = () => {
    for (let k = 0; k < PAUSE_FRAMES; k++) ref.push(silence);
  };
  pause();
  for (const [a, b] of segments) {
    const from = ref.length;
    for (let f = a; f <= b; f++) ref.push(isoFrame(f));
    spans.push([from, ref.length - 1]);
    pause();
  }
  const path = dtw(ref, tgt);
  if (!path) return undefined;
  const { first, last } = path;
  // A frame stands for the 10 ms around its window's centre.
  const time = (f: number) => f * HOP_S + WIN_S / 2 - HOP_S / 2;
  const words: { start: number; end: number }[] = [];
  let prevEnd = 0;
  for (const [a, b] of spans) {
    const start = Math.max(prevEnd, time(first[a]!));
    const end = Math.max(start + HOP_S, time(last[b]!) + HOP_S);
    words.push({ start, end });
    prevEnd = end;
  }
  return words;
}
