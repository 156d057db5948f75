/**
 * Reads a contact sheet back: for each tile, whether its badge is the green "used" tick or the
 * red "not used" cross, by the colour inside the badge circle (away from the white mark).
 */
import { SHEET_COLOURS, sheetLayout } from '../../core/identity/contact-sheet.ts';
import type { RgbImage } from '../../core/image/codec.ts';

export function badgeStates(sheet: RgbImage, photos: number): Array<'used' | 'not used' | 'none'> {
  const layout = sheetLayout(photos);
  if (sheet.width !== layout.width || sheet.height !== layout.height)
    throw new Error(`sheet is ${sheet.width}x${sheet.height}, expected ${layout.width}x${layout.height}`);
  return layout.tiles.map(({ badge }) => {
    const x = Math.round(badge.cx);
    const y = Math.round(badge.cy - badge.r * 0.7);
    const i = (y * sheet.width + x) * 3;
    const px = [sheet.data[i], sheet.data[i + 1], sheet.data[i + 2]];
    const dist = (c: readonly number[]) => Math.hypot(px[0] - c[0], px[1] - c[1], px[2] - c[2]);
    const used = dist(SHEET_COLOURS.used);
    const not = dist(SHEET_COLOURS.notUsed);
    if (Math.min(used, not) > 60) return 'none';
    return used < not ? 'used' : 'not used';
  });
}
