/**
 * The floor of face analysis for bench/face-analysis.ts: JPEG decode plus each face model run on
 * a prebuilt tensor as many times as the pipeline runs it for one photo. No preprocessing, no
 * decoding of outputs: what is left when everything the project adds costs nothing.
 */
import { FACE_MEM_PATTERN, FACE_MODEL_IDS } from '../core/face/models.ts';
import { decodeImage } from '../core/image/codec.ts';
import { OnnxSession, type Tensor } from '../models/onnx.ts';
import type { ModelStore } from '../models/store.ts';

export class FloorRunner {
  private constructor(
    private readonly models: { id: string; session: OnnxSession; feed: Record<string, Tensor> }[],
  ) {}

  static async load(store: ModelStore, threads = 1): Promise<FloorRunner> {
    const models = [];
    for (const id of FACE_MODEL_IDS) {
      const spec = store.manifest(id).inputs[0]!;
      const dims = spec.shape.map((d) => (typeof d === 'number' ? d : 1));
      const data = new Float32Array(dims.reduce((a, b) => a * b, 1)).map(() => Math.random() * 2 - 1);
      const session = await OnnxSession.create(await store.path(id), {
        threads,
        name: id,
        memPattern: FACE_MEM_PATTERN, // as the pipeline's sessions
      });
      const feed = { [spec.name]: { type: 'float32' as const, data, dims } };
      await session.run(feed);
      models.push({ id, session, feed });
    }
    return new FloorRunner(models);
  }

  /**
   * Decode the photo, then run each model as often as the pipeline did for this photo. Without
   * `decode`, the model runs alone: the most any pipeline making these runs could do here.
   */
  async run(bytes: Uint8Array, runs: Map<string, number>, decode = true): Promise<void> {
    if (decode) await decodeImage(bytes);
    for (const m of this.models) {
      const n = runs.get(m.id) ?? 0;
      for (let i = 0; i < n; i++) await m.session.run(m.feed);
    }
  }

  async dispose(): Promise<void> {
    for (const m of this.models) await m.session.dispose();
  }
}
