/** A plausible 68-point (iBUG) landmark layout around a centre, for tests that need no detector. */
import type { Point } from '../../core/fusion/raster.ts';

export function syntheticLandmarks(cx: number, cy: number, s: number): Point[] {
  const p: Point[] = [];
  // Jaw: 17 points on the lower half of an ellipse, right ear to left ear.
  for (let i = 0; i < 17; i++) {
    const t = Math.PI * (1 - i / 16);
    p.push([
      cx + s * Math.cos(t),
      cy + 0.1 * s + 1.1 * s * Math.abs(Math.sin(t)) * (i === 0 || i === 16 ? 0 : 1),
    ]);
  }
  for (let i = 0; i < 5; i++)
    p.push([cx - 0.75 * s + i * 0.13 * s, cy - 0.45 * s - 0.08 * s * Math.sin((Math.PI * i) / 4)]);
  for (let i = 0; i < 5; i++)
    p.push([cx + 0.23 * s + i * 0.13 * s, cy - 0.45 * s - 0.08 * s * Math.sin((Math.PI * (4 - i)) / 4)]);
  for (let i = 0; i < 4; i++) p.push([cx, cy - 0.3 * s + i * 0.12 * s]);
  for (let i = 0; i < 5; i++) p.push([cx - 0.16 * s + i * 0.08 * s, cy + 0.22 * s]);
  const eye = (ex: number): Point[] => [
    [ex - 0.17 * s, cy - 0.25 * s],
    [ex - 0.08 * s, cy - 0.3 * s],
    [ex + 0.05 * s, cy - 0.3 * s],
    [ex + 0.17 * s, cy - 0.25 * s],
    [ex + 0.05 * s, cy - 0.2 * s],
    [ex - 0.08 * s, cy - 0.2 * s],
  ];
  p.push(...eye(cx - 0.4 * s), ...eye(cx + 0.4 * s));
  for (let i = 0; i < 12; i++) {
    const t = (2 * Math.PI * i) / 12;
    p.push([cx - 0.3 * s * Math.cos(t), cy + 0.55 * s - 0.12 * s * Math.sin(t)]);
  }
  for (let i = 0; i < 8; i++) {
    const t = (2 * Math.PI * i) / 8;
    p.push([cx - 0.2 * s * Math.cos(t), cy + 0.55 * s - 0.04 * s * Math.sin(t)]);
  }
  return p;
}
