/**
 * Canny edge detection (Canny 1986) for ControlNet canny conditioning, computed here instead of
 * with OpenCV: luminance, 3x3 Sobel gradients, non-maximum suppression along the gradient
 * direction, double threshold and hysteresis. Like cv2.Canny(image, 100, 200), which the ControlNet
 * canny annotator used to make its training data: no pre-blur (optional here), L1 gradient
 * magnitude |gx| + |gy| on 0-255 luminance. Output: white edges on black, RGB, same size.
 */
import type { RgbImage } from '../image/codec.ts';

export function canny(img: RgbImage, low = 100, high = 200, opts: { blur?: boolean } = {}): RgbImage {
  const { width: W, height: H, data } = img;
  const n = W * H;
  const gray = new Float32Array(n);
  for (let p = 0; p < n; p++)
    gray[p] = 0.299 * data[p * 3] + 0.587 * data[p * 3 + 1] + 0.114 * data[p * 3 + 2];
  // Optional separable Gaussian, sigma 1.4, radius 2, edges clamped.
  const k = [-2, -1, 0, 1, 2].map((x) => Math.exp(-(x * x) / (2 * 1.4 * 1.4)));
  const ks = k.reduce((a, b) => a + b, 0);
  const kn = k.map((v) => v / ks);
  const tmp = new Float32Array(n);
  const blur = opts.blur ? new Float32Array(n) : gray;
  const cx = (x: number): number => (x < 0 ? 0 : x >= W ? W - 1 : x);
  const cy = (y: number): number => (y < 0 ? 0 : y >= H ? H - 1 : y);
  if (opts.blur) {
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        let s = 0;
        for (let d = -2; d <= 2; d++) s += gray[y * W + cx(x + d)] * kn[d + 2];
        tmp[y * W + x] = s;
      }
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        let s = 0;
        for (let d = -2; d <= 2; d++) s += tmp[cy(y + d) * W + x] * kn[d + 2];
        blur[y * W + x] = s;
      }
  }
  const mag = new Float32Array(n);
  const dir = new Uint8Array(n); // 0: horizontal gradient, 1: 45°, 2: vertical, 3: 135°
  const at = (x: number, y: number): number => blur[cy(y) * W + cx(x)];
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const gx =
        at(x + 1, y - 1) +
        2 * at(x + 1, y) +
        at(x + 1, y + 1) -
        at(x - 1, y - 1) -
        2 * at(x - 1, y) -
        at(x - 1, y + 1);
      const gy =
        at(x - 1, y + 1) +
        2 * at(x, y + 1) +
        at(x + 1, y + 1) -
        at(x - 1, y - 1) -
        2 * at(x, y - 1) -
        at(x + 1, y - 1);
      mag[y * W + x] = Math.abs(gx) + Math.abs(gy);
      let a = (Math.atan2(gy, gx) * 180) / Math.PI;
      if (a < 0) a += 180;
      dir[y * W + x] = a < 22.5 || a >= 157.5 ? 0 : a < 67.5 ? 1 : a < 112.5 ? 2 : 3;
    }
  // Non-maximum suppression; border pixels are never edges.
  const state = new Uint8Array(n); // 0 none, 1 weak, 2 strong
  const m = (x: number, y: number): number => (x < 0 || y < 0 || x >= W || y >= H ? 0 : mag[y * W + x]);
  for (let y = 1; y < H - 1; y++)
    for (let x = 1; x < W - 1; x++) {
      const p = y * W + x;
      const v = mag[p];
      if (v < low) continue;
      let a: number;
      let b: number;
      switch (dir[p]) {
        case 0:
          a = m(x - 1, y);
          b = m(x + 1, y);
          break;
        case 1:
          a = m(x - 1, y - 1);
          b = m(x + 1, y + 1);
          break;
        case 2:
          a = m(x, y - 1);
          b = m(x, y + 1);
          break;
        default:
          a = m(x + 1, y - 1);
          b = m(x - 1, y + 1);
      }
      if (v >= a && v > b) state[p] = v >= high ? 2 : 1;
    }
  // Hysteresis: weak pixels connected (8-neighbourhood) to strong ones become edges.
  const stack: number[] = [];
  for (let p = 0; p < n; p++) if (state[p] === 2) stack.push(p);
  while (stack.length) {
    const p = stack.pop()!;
    const x = p % W;
    const y = (p - x) / W;
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const qx = x + dx;
        const qy = y + dy;
        if (qx < 0 || qy < 0 || qx >= W || qy >= H) continue;
        const q = qy * W + qx;
        if (state[q] === 1) {
          state[q] = 2;
          stack.push(q);
        }
      }
  }
  const out = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) if (state[p] === 2) out[p * 3] = out[p * 3 + 1] = out[p * 3 + 2] = 255;
  return { data: out, width: W, height: H };
}
