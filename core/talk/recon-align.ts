/**
 * The 224x224 input of the 3DMM coefficient regressor (Deep3DFaceRecon's ResNet-50, which
 * SadTalker uses to read a portrait's expression, head angles and position). Its alignment only
 * scales and shifts (no rotation): a weak-perspective fit (POS) of five landmarks to a standard
 * 3D face gives scale s and translation t; the image is scaled by 102 / s and a 224 square cut
 * around t. Landmarks are taken with y pointing up, as that code does.
 */
import type { Affine, Point } from '../image/warp.ts';

/**
 * The standard face's five points (eye centres, nose tip, mouth corners; x right, y up, z out),
 * from Deep3DFaceRecon's similarity_Lm3D_all.mat reduced to five points as its load_lm3d does.
 */
export const STANDARD_FACE_5: readonly (readonly [number, number, number])[] = [
  [-0.311487, 0.290361, 0.13378],
  [0.309799, 0.28972, 0.131795],
  [0.003253, -0.046179, 0.552442],
  [-0.252169, -0.381339, 0.224057],
  [0.248466, -0.381282, 0.222358],
];

export const RECON_SIZE = 224;
const RESCALE = 102;

/** Eye centres as the midpoints of the eye corners, nose tip, mouth corners (Deep3D's extract_5p). */
export function reconFivePoints(lm: readonly Point[]): [number, number][] {
  const mid = (a: number, b: number): [number, number] => [
    (lm[a]![0] + lm[b]![0]) / 2,
    (lm[a]![1] + lm[b]![1]) / 2,
  ];
  return [
    mid(36, 39),
    mid(42, 45),
    [lm[30]![0], lm[30]![1]],
    [lm[48]![0], lm[48]![1]],
    [lm[54]![0], lm[54]![1]],
  ];
}

/**
 * Weak-perspective fit: least squares for x = R1 . X + tx and y = R2 . X + ty over the point
 * pairs; s is the mean norm of R1 and R2. The two rows are independent 4-unknown problems.
 */
export function pos(points2d: readonly (readonly [number, number])[]): { s: number; tx: number; ty: number } {
  const rows = STANDARD_FACE_5.map(([x, y, z]) => [x, y, z, 1]);
  const solve = (rhs: number[]): number[] => {
    const m = Array.from({ length: 4 }, () => new Array<number>(5).fill(0));
    rows.forEach((r, i) => {
      for (let a = 0; a < 4; a++) {
        for (let b = 0; b < 4; b++) m[a]![b]! += r[a]! * r[b]!;
        m[a]![4]! += r[a]! * rhs[i]!;
      }
    });
    // Gauss-Jordan with partial pivoting on the 4x4 normal equations.
    for (let c = 0; c < 4; c++) {
      let p = c;
      for (let r = c + 1; r < 4; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
      [m[c], m[p]] = [m[p]!, m[c]!];
      for (let r = 0; r < 4; r++) {
        if (r === c) continue;
        const f = m[r]![c]! / m[c]![c]!;
        for (let k = c; k < 5; k++) m[r]![k]! -= f * m[c]![k]!;
      }
    }
    return m.map((row, i) => row[4]! / row[i]!);
  };
  const k1 = solve(points2d.map((p) => p[0]));
  const k2 = solve(points2d.map((p) => p[1]));
  const s = (Math.hypot(k1[0]!, k1[1]!, k1[2]!) + Math.hypot(k2[0]!, k2[1]!, k2[2]!)) / 2;
  return { s, tx: k1[3]!, ty: k2[3]! };
}

/**
 * Affine from an image (w0 x h0, landmarks in its pixels, y down) to the 224 regressor input,
 * as align_img + resize_n_crop_img compute it (integer resize and crop offsets included).
 */
export function reconAffine(landmarks: readonly Point[], w0: number, h0: number): Affine {
  const five = reconFivePoints(landmarks).map(([x, y]) => [x, h0 - 1 - y] as [number, number]);
  const fit = pos(five);
  const s = RESCALE / fit.s;
  const w = Math.trunc(w0 * s);
  const h = Math.trunc(h0 * s);
  const left = Math.trunc(w / 2 - RECON_SIZE / 2 + (fit.tx - w0 / 2) * s);
  const up = Math.trunc(h / 2 - RECON_SIZE / 2 + (h0 / 2 - fit.ty) * s);
  const kx = w / w0;
  const ky = h / h0;
  return [kx, 0, -left, 0, ky, -up];
}
