/**
 * The photo report's contact sheet: one JPEG with every photo in order, a green tick or a red
 * cross each, read back from the picture; a photo that cannot be decoded still gets its tile.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { contactSheet, sheetLayout } from '../../core/identity/contact-sheet.ts';
import { decodeImage } from '../../core/image/codec.ts';
import { badgeStates } from './sheet-reader.ts';

const face = (f: string) => new Uint8Array(readFileSync(new URL(`../fixtures/faces/${f}`, import.meta.url)));

describe('contact sheet', () => {
  it('shows every photo with its tick or cross, in the order sent', async () => {
    const used = [true, false, true, false, false];
    const files = ['astronaut.png', 'sample2.jpg', 'messi5.jpg', 'sample4.jpg', 'broken'];
    const sheet = await contactSheet(
      files.map((f, i) => ({
        bytes: f === 'broken' ? new Uint8Array([0xff, 0xd8, 0xff, 0, 1, 2]) : face(f),
        name: f,
        used: used[i],
        label: used[i] ? '已采用' : '太模糊',
      })),
    );
    const img = await decodeImage(sheet);
    expect(img.format).toBe('jpeg');
    expect(badgeStates(img, files.length)).toEqual(used.map((u) => (u ? 'used' : 'not used')));
    // Three to a row for five photos; the layout the reader used is the one drawn.
    const layout = sheetLayout(5);
    expect(new Set(layout.tiles.map((t) => t.y)).size).toBe(2);
    expect([img.width, img.height]).toEqual([layout.width, layout.height]);
  });

  it('a badge reader on a sheet without badges finds none (the check can fail)', async () => {
    const blank = {
      data: new Uint8Array(sheetLayout(2).width * sheetLayout(2).height * 3).fill(245),
      ...sheetLayout(2),
    };
    expect(badgeStates(blank, 2)).toEqual(['none', 'none']);
  });
});
