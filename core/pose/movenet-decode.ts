/**
 * MoveNet MultiPose's decoding, done here instead of inside the graph (the ONNX conversion keeps
 * the network up to its six heads; docs/DECISIONS.md "Body pose and segmentation"). It follows
 * the published model's own decoding step by step (a CenterNet-style decoder):
 *
 * 1. person centres: the centre heatmap's local maxima (5 × 5 max-pool, SAME), the 6 highest;
 * 2. each person's box: centre + box offset, ± half the box scale, clipped to the heatmap;
 * 3. each keypoint: the centre + the regressed vector gives a guess; the keypoint heatmap,
 *    weighted by exp(−d² / (0.3 · min(H, W))) around the guess and limited to the box, is
 *    searched for its maximum; that cell + the keypoint offset is the keypoint, its score the
 *    best weighted value any person has at that cell;
 * 4. the person's score: centre score × mean score of its keypoints above 0.127.
 *
 * Output, as the original graph's: per person 17 × (y, x, score) normalised to the input, then
 * the box (ymin, xmin, ymax, xmax) normalised, then the score — 56 values.
 */

/** The model's constants, at the precision the published graph stores them (float16). */
const PEAK_EPS = 1.0132789611816406e-6;
const KEYPOINT_THRESHOLD = 0.126953125;
const SIGMA_SCALE = 0.300048828125;
const MAX_PEOPLE = 6;
const K = 17;
const STRIDE = 4;

/** The six heads, NHWC with batch 1 (height × width cells; channels last). */
export interface MoveNetHeads {
  height: number;
  width: number;
  /** Sigmoid, 1 channel. */
  center: Float32Array;
  /** Sigmoid, 17 channels. */
  keypointHeatmap: Float32Array;
  /** 34 channels: (dy, dx) per keypoint, from the centre cell. */
  keypointRegress: Float32Array;
  /** 34 channels: (dy, dx) sub-cell offset per keypoint. */
  keypointOffset: Float32Array;
  /** 2 channels: box (height, width) in cells. */
  boxScale: Float32Array;
  /** 2 channels: box centre (dy, dx) offset. */
  boxOffset: Float32Array;
}

/** Decode to MoveNet's output layout: 6 × 56 values (see the file comment). */
export function decodeMoveNet(h: MoveNetHeads): Float32Array {
  const { height: H, width: W } = h;
  const inH = H * STRIDE;
  const inW = W * STRIDE;
  // 1. Peaks of the centre heatmap (max-pool 5 × 5, SAME), top 6 by score.
  const peak = new Float32Array(H * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let m = Number.NEGATIVE_INFINITY;
      for (let yy = Math.max(0, y - 2); yy <= Math.min(H - 1, y + 2); yy++)
        for (let xx = Math.max(0, x - 2); xx <= Math.min(W - 1, x + 2); xx++)
          m = Math.max(m, h.center[yy * W + xx]);
      const c = h.center[y * W + x];
      peak[y * W + x] = Math.abs(c - m) < PEAK_EPS ? c : 0;
    }
  }
  // Top-k, sorted, ties to the lower index (as TopKV2).
  const order = Array.from({ length: H * W }, (_, i) => i)
    .sort((a, b) => peak[b] - peak[a] || a - b)
    .slice(0, MAX_PEOPLE);
  const out = new Float32Array(MAX_PEOPLE * 56);
  const cy = order.map((i) => Math.floor(i / W));
  const cx = order.map((i, p) => i - cy[p] * W);
  // 2. Boxes in heatmap cells: [ymin, xmin, ymax, xmax], clipped to [0, H] / [0, W].
  const boxes = order.map((i, p) => {
    const oy = h.boxOffset[i * 2];
    const ox = h.boxOffset[i * 2 + 1];
    const sh = Math.max(0, h.boxScale[i * 2]);
    const sw = Math.max(0, h.boxScale[i * 2 + 1]);
    const clipY = (v: number) => Math.max(0, Math.min(H, v));
    const clipX = (v: number) => Math.max(0, Math.min(W, v));
    return [
      clipY(cy[p] + oy - sh * 0.5),
      clipX(cx[p] + ox - sw * 0.5),
      clipY(cy[p] + oy + sh * 0.5),
      clipX(cx[p] + ox + sw * 0.5),
    ];
  });
  // 3. Weighted, box-limited keypoint heatmaps per person: value[y][x][p][k].
  const sigma = Math.min(H, W) * SIGMA_SCALE;
  const weighted = new Float32Array(H * W * MAX_PEOPLE * K);
  const regY = new Float32Array(MAX_PEOPLE * K);
  const regX = new Float32Array(MAX_PEOPLE * K);
  for (let p = 0; p < MAX_PEOPLE; p++) {
    const i = order[p];
    for (let k = 0; k < K; k++) {
      regY[p * K + k] = cy[p] + h.keypointRegress[i * 34 + k * 2];
      regX[p * K + k] = cx[p] + h.keypointRegress[i * 34 + k * 2 + 1];
    }
  }
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const cell = y * W + x;
      for (let p = 0; p < MAX_PEOPLE; p++) {
        const [y0, x0, y1, x1] = boxes[p];
        if (!(y >= y0 && y < y1 && x >= x0 && x < x1)) continue;
        for (let k = 0; k < K; k++) {
          const dy = y - regY[p * K + k];
          const dx = x - regX[p * K + k];
          weighted[(cell * MAX_PEOPLE + p) * K + k] =
            h.keypointHeatmap[cell * K + k] * Math.exp(-(dy * dy + dx * dx) / sigma);
        }
      }
    }
  }
  for (let p = 0; p < MAX_PEOPLE; p++) {
    let sum = 0;
    let count = 0;
    const centreScore = peak[order[p]];
    for (let k = 0; k < K; k++) {
      // ArgMax over cells (first maximum wins).
      let best = 0;
      let bestV = Number.NEGATIVE_INFINITY;
      for (let cell = 0; cell < H * W; cell++) {
        const v = weighted[(cell * MAX_PEOPLE + p) * K + k];
        if (v > bestV) {
          bestV = v;
          best = cell;
        }
      }
      const ky = Math.floor(best / W);
      const kx = best - ky * W;
      let score = Number.NEGATIVE_INFINITY;
      for (let q = 0; q < MAX_PEOPLE; q++) score = Math.max(score, weighted[(best * MAX_PEOPLE + q) * K + k]);
      const o = p * 56 + k * 3;
      out[o] = ((ky + h.keypointOffset[best * 34 + k * 2]) * STRIDE) / inH;
      out[o + 1] = ((kx + h.keypointOffset[best * 34 + k * 2 + 1]) * STRIDE) / inW;
      out[o + 2] = score;
      if (score > KEYPOINT_THRESHOLD) {
        sum += centreScore * score;
        count++;
      }
    }
    const [y0, x0, y1, x1] = boxes[p];
    const norm = (v: number, size: number) => Math.max(0, Math.min(1, (v * STRIDE) / size));
    out[p * 56 + 51] = norm(y0, inH);
    out[p * 56 + 52] = norm(x0, inW);
    out[p * 56 + 53] = norm(y1, inH);
    out[p * 56 + 54] = norm(x1, inW);
    out[p * 56 + 55] = sum / Math.max(count, 1);
  }
  return out;
}
