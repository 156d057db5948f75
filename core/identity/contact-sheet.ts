/**
 * The photo report as one picture: every photo the user sent as a thumbnail, in the order sent,
 * with a green tick (used) or a red cross (not used) and, under it, its name and the short reason
 * in the user's language. The full reasons and what to do stay in the reply's text; this shows
 * at a glance which photo is which. Drawn with sharp (core/image/codec.ts): thumbnails,
 * vector badges (SVG) and Pango text.
 */
import {
  composeJpeg,
  decodeImage,
  type Layer,
  type RgbImage,
  renderText,
  resizeRgb,
} from '../image/codec.ts';

export interface SheetEntry {
  /** The photo as sent (decoded here; a photo that cannot be decoded gets an empty tile). */
  bytes: Uint8Array;
  /** How the user knows it (its file name, or "photo 3"). */
  name: string;
  used: boolean;
  /** The short reason (or "used"), already in the user's language. */
  label: string;
}

/** Where things are on a sheet of `n` photos (tests read the badges from here). */
export interface SheetLayout {
  width: number;
  height: number;
  tiles: Array<{
    x: number;
    y: number;
    /** The badge circle: centre and radius. */
    badge: { cx: number; cy: number; r: number };
  }>;
}

const THUMB = 220;
const LABEL_H = 54;
const GAP = 14;
const BADGE_R = 22;
export const SHEET_COLOURS = {
  background: [245, 245, 242] as [number, number, number],
  tile: [228, 228, 224] as [number, number, number],
  used: [46, 157, 70] as [number, number, number],
  notUsed: [210, 55, 55] as [number, number, number],
};

export function sheetLayout(n: number): SheetLayout {
  const cols = Math.max(1, Math.min(5, n <= 3 ? n : Math.ceil(Math.sqrt(n))));
  const rows = Math.ceil(n / cols);
  const width = GAP + cols * (THUMB + GAP);
  const height = GAP + rows * (THUMB + LABEL_H + GAP);
  const tiles = Array.from({ length: n }, (_, i) => {
    const x = GAP + (i % cols) * (THUMB + GAP);
    const y = GAP + Math.floor(i / cols) * (THUMB + LABEL_H + GAP);
    return { x, y, badge: { cx: x + THUMB - BADGE_R - 6, cy: y + BADGE_R + 6, r: BADGE_R } };
  });
  return { width, height, tiles };
}

const hex = (c: [number, number, number]) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

/** A filled circle with a white tick or cross, drawn as paths (no font needed). */
function badgeSvg(used: boolean): Uint8Array {
  const d = BADGE_R * 2;
  const mark = used
    ? `<path d="M ${d * 0.27} ${d * 0.53} L ${d * 0.44} ${d * 0.7} L ${d * 0.75} ${d * 0.36}" />`
    : `<path d="M ${d * 0.32} ${d * 0.32} L ${d * 0.68} ${d * 0.68} M ${d * 0.68} ${d * 0.32} L ${d * 0.32} ${d * 0.68}" />`;
  const fill = hex(used ? SHEET_COLOURS.used : SHEET_COLOURS.notUsed);
  return new TextEncoder().encode(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${d}" height="${d}">` +
      `<circle cx="${BADGE_R}" cy="${BADGE_R}" r="${BADGE_R - 1}" fill="${fill}" stroke="white" stroke-width="2"/>` +
      `<g fill="none" stroke="white" stroke-width="${d * 0.1}" stroke-linecap="round" stroke-linejoin="round">${mark}</g></svg>`,
  );
}

/** A thin frame in the badge's colour, so used and unused photos differ at a glance. */
function frameSvg(used: boolean): Uint8Array {
  const c = hex(used ? SHEET_COLOURS.used : SHEET_COLOURS.notUsed);
  return new TextEncoder().encode(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${THUMB}" height="${THUMB}">` +
      `<rect x="1.5" y="1.5" width="${THUMB - 3}" height="${THUMB - 3}" fill="none" stroke="${c}" stroke-width="3"/></svg>`,
  );
}

/** The photo fitted inside the tile, centred; a photo that cannot be decoded leaves the tile empty. */
async function thumbnail(
  bytes: Uint8Array,
): Promise<{ image: RgbImage; dx: number; dy: number } | undefined> {
  try {
    const img = await decodeImage(bytes, { allowAnimated: true });
    const s = THUMB / Math.max(img.width, img.height);
    const w = Math.max(1, Math.round(img.width * s));
    const h = Math.max(1, Math.round(img.height * s));
    return {
      image: await resizeRgb(img, w, h),
      dx: Math.floor((THUMB - w) / 2),
      dy: Math.floor((THUMB - h) / 2),
    };
  } catch {
    return undefined;
  }
}

const shortName = (name: string) => (name.length > 28 ? `${name.slice(0, 16)}…${name.slice(-10)}` : name);

/** The sheet as a JPEG. */
export async function contactSheet(entries: readonly SheetEntry[]): Promise<Uint8Array> {
  const layout = sheetLayout(entries.length);
  const layers: Layer[] = [];
  for (const [i, e] of entries.entries()) {
    const { x, y, badge } = layout.tiles[i];
    layers.push({ input: { data: tileFill(), width: THUMB, height: THUMB }, left: x, top: y });
    const thumb = await thumbnail(e.bytes);
    if (thumb) layers.push({ input: thumb.image, left: x + thumb.dx, top: y + thumb.dy });
    layers.push({ input: frameSvg(e.used), left: x, top: y });
    layers.push({ input: badgeSvg(e.used), left: badge.cx - BADGE_R, top: badge.cy - BADGE_R });
    const name = await renderText(shortName(e.name), {
      width: THUMB,
      maxHeight: 20,
      sizePx: 13,
      color: '#333333',
    });
    layers.push({ input: name.png, left: x + Math.max(0, (THUMB - name.width) / 2), top: y + THUMB + 4 });
    const label = await renderText(e.label, {
      width: THUMB,
      maxHeight: LABEL_H - 24,
      sizePx: 13,
      bold: true,
      color: hex(e.used ? SHEET_COLOURS.used : SHEET_COLOURS.notUsed),
    });
    layers.push({ input: label.png, left: x + Math.max(0, (THUMB - label.width) / 2), top: y + THUMB + 23 });
  }
  return composeJpeg(
    { width: layout.width, height: layout.height, background: SHEET_COLOURS.background },
    layers,
  );
}

let fill: Uint8Array | undefined;
function tileFill(): Uint8Array {
  if (!fill) {
    fill = new Uint8Array(THUMB * THUMB * 3);
    for (let i = 0; i < fill.length; i += 3) fill.set(SHEET_COLOURS.tile, i);
  }
  return fill;
}
