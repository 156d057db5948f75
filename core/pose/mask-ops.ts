/**
 * Binary mask operations for person and garment masks: thresholding, coverage, connected
 * components (keep the largest, fill enclosed holes) and painting capsules (a limb: every pixel
 * within a radius of a segment) and polygons.
 */
import type { Mask, Point } from '../fusion/raster.ts';

/** 1 where the value is at least `threshold`, else 0. */
export function binarize(m: Mask, threshold = 0.5): Mask {
  const data = new Float32Array(m.data.length);
  for (let i = 0; i < data.length; i++) data[i] = m.data[i] >= threshold ? 1 : 0;
  return { width: m.width, height: m.height, data };
}

/** Share of pixels at or above 0.5. */
export function coverage(m: Mask): number {
  let on = 0;
  for (let i = 0; i < m.data.length; i++) if (m.data[i] >= 0.5) on++;
  return m.data.length ? on / m.data.length : 0;
}

/** Label 4-connected components of pixels equal to `value` (0 or 1); returns labels and sizes. */
function components(m: Mask, value: 0 | 1): { labels: Int32Array; sizes: number[] } {
  const { width: w, height: h } = m;
  const n = w * h;
  const on = new Uint8Array(n);
  for (let i = 0; i < n; i++) on[i] = (m.data[i] >= 0.5 ? 1 : 0) === value ? 1 : 0;
  const labels = new Int32Array(n).fill(-1);
  const sizes: number[] = [];
  const stack = new Int32Array(n);
  for (let start = 0; start < n; start++) {
    if (labels[start] >= 0 || !on[start]) continue;
    const id = sizes.length;
    let size = 0;
    let top = 0;
    labels[start] = id;
    stack[top++] = start;
    while (top > 0) {
      const i = stack[--top];
      size++;
      const x = i % w;
      // Each neighbour is labelled when pushed, so the stack never holds more than n entries.
      if (x > 0 && labels[i - 1] < 0 && on[i - 1]) {
        labels[i - 1] = id;
        stack[top++] = i - 1;
      }
      if (x < w - 1 && labels[i + 1] < 0 && on[i + 1]) {
        labels[i + 1] = id;
        stack[top++] = i + 1;
      }
      if (i >= w && labels[i - w] < 0 && on[i - w]) {
        labels[i - w] = id;
        stack[top++] = i - w;
      }
      if (i + w < n && labels[i + w] < 0 && on[i + w]) {
        labels[i + w] = id;
        stack[top++] = i + w;
      }
    }
    sizes.push(size);
  }
  return { labels, sizes };
}

/** Keep only the largest connected region (plus any region at least `keepShare` of its size). */
export function keepLargest(m: Mask, keepShare = 1): Mask {
  const { labels, sizes } = components(m, 1);
  const out: Mask = { width: m.width, height: m.height, data: new Float32Array(m.data.length) };
  if (!sizes.length) return out;
  const largest = Math.max(...sizes);
  const keep = sizes.map((s) => s >= largest * keepShare);
  for (let i = 0; i < labels.length; i++) if (labels[i] >= 0 && keep[labels[i]]) out.data[i] = 1;
  return out;
}

/** Fill holes: background regions that do not touch the border and are at most maxArea pixels. */
export function fillHoles(m: Mask, maxArea: number = Number.POSITIVE_INFINITY): Mask {
  const { width: w, height: h } = m;
  const { labels, sizes } = components(m, 0);
  const touches = new Array<boolean>(sizes.length).fill(false);
  for (let x = 0; x < w; x++) {
    for (const i of [x, (h - 1) * w + x]) if (labels[i] >= 0) touches[labels[i]] = true;
  }
  for (let y = 0; y < h; y++) {
    for (const i of [y * w, y * w + w - 1]) if (labels[i] >= 0) touches[labels[i]] = true;
  }
  const out: Mask = { width: w, height: h, data: Float32Array.from(m.data, (v) => (v >= 0.5 ? 1 : 0)) };
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l >= 0 && !touches[l] && sizes[l] <= maxArea) out.data[i] = 1;
  }
  return out;
}

/** Set `value` on every pixel (centre) within `r` of the segment a-b. */
export function paintCapsule(m: Mask, a: Point, b: Point, r: number, value: number): void {
  const x0 = Math.max(0, Math.floor(Math.min(a[0], b[0]) - r));
  const x1 = Math.min(m.width - 1, Math.ceil(Math.max(a[0], b[0]) + r));
  const y0 = Math.max(0, Math.floor(Math.min(a[1], b[1]) - r));
  const y1 = Math.min(m.height - 1, Math.ceil(Math.max(a[1], b[1]) + r));
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const r2 = r * r;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const px = x + 0.5 - a[0];
      const py = y + 0.5 - a[1];
      const t = len2 > 0 ? Math.max(0, Math.min(1, (px * dx + py * dy) / len2)) : 0;
      const ex = px - t * dx;
      const ey = py - t * dy;
      if (ex * ex + ey * ey <= r2) m.data[y * m.width + x] = value;
    }
  }
}

/** a AND NOT b. */
export function subtract(a: Mask, b: Mask): Mask {
  const data = new Float32Array(a.data.length);
  for (let i = 0; i < data.length; i++) data[i] = a.data[i] >= 0.5 && b.data[i] < 0.5 ? 1 : 0;
  return { width: a.width, height: a.height, data };
}

/** The mask as a grey image: 255 inside, 0 outside (what `segment --out` writes). */
export function maskToGrey(m: Mask): { width: number; height: number; data: Uint8Array } {
  const data = new Uint8Array(m.width * m.height * 3);
  for (let i = 0; i < m.data.length; i++) {
    const v = Math.round(Math.max(0, Math.min(1, m.data[i])) * 255);
    data[i * 3] = v;
    data[i * 3 + 1] = v;
    data[i * 3 + 2] = v;
  }
  return { width: m.width, height: m.height, data };
}
