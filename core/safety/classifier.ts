/**
 * The output safety check: result pictures scored by an image classifier (models/manifests/
 * safety-nsfw.json: class probabilities; the manifest names the unsafe classes), and those at or
 * over FACECHAIN_SAFETY_THRESHOLD flagged so front-ends send them blurred. Where the classifier
 * is not installed the check is "not available": with FACECHAIN_SAFETY_CHECK=auto results go out
 * unchecked (logged once), with `required` picture jobs are refused before any work. Logs carry
 * counts and scores, never pictures.
 */
import { NotAvailableError } from '../../base/errors.ts';
import { log } from '../../base/log.ts';
import { OnnxSession } from '../../models/onnx.ts';
import { ModelStore } from '../../models/store.ts';
import { config } from '../config.ts';
import { type RgbImage, resizeRgb } from '../image/codec.ts';

const logger = log('safety');

export const SAFETY_MODEL = 'safety-nsfw';
const SIZE = 224;

const HOW =
  'Install the classifier export (safety-nsfw) with its sha256 in <models dir>/manifests/safety-nsfw.json: see docs/frontends.md, "Output safety check".';

export class SafetyClassifier {
  private constructor(
    private readonly session: OnnxSession,
    private readonly unsafe: number[],
  ) {}

  /** Loads the verified classifier; NotAvailableError (saying why) when it is not installed. */
  static async load(store: ModelStore): Promise<SafetyClassifier> {
    const problem = await safetyProblem(store);
    if (problem) throw new NotAvailableError('The output safety check', `${HOW} (${problem})`);
    const m = store.manifest(SAFETY_MODEL);
    const classes = (m.preprocessing.classes ?? []) as string[];
    const unsafe = ((m.preprocessing.unsafe ?? []) as string[])
      .map((c) => classes.indexOf(c))
      .filter((i) => i >= 0);
    if (unsafe.length === 0)
      throw new NotAvailableError('The output safety check', `${HOW} (its manifest names no unsafe class)`);
    const c = config();
    const session = await OnnxSession.create(await store.path(SAFETY_MODEL), {
      name: SAFETY_MODEL,
      threads: c.FACECHAIN_ORT_THREADS,
      providers: c.executionProviders,
      expectInputs: m.inputs,
      expectOutputs: m.outputs,
    });
    return new SafetyClassifier(session, unsafe);
  }

  /** Per picture: the probability of the unsafe classes together (0..1). */
  async scores(images: readonly RgbImage[]): Promise<number[]> {
    const out: number[] = [];
    for (const img of images) {
      const small = await resizeRgb(img, SIZE, SIZE);
      const x = new Float32Array(3 * SIZE * SIZE);
      const plane = SIZE * SIZE;
      for (let p = 0; p < plane; p++)
        for (let ch = 0; ch < 3; ch++) x[ch * plane + p] = small.data[p * 3 + ch] / 255;
      const r = await this.session.run({ image: { type: 'float32', data: x, dims: [1, 3, SIZE, SIZE] } });
      const probs = r.probs.data as Float32Array;
      out.push(
        Math.min(
          1,
          this.unsafe.reduce((a, i) => a + probs[i], 0),
        ),
      );
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}

/** Why the classifier cannot run here, or undefined when it is installed and verified. */
export async function safetyProblem(store: ModelStore): Promise<string | undefined> {
  if (!store.manifests.has(SAFETY_MODEL)) return `model "${SAFETY_MODEL}" has no manifest`;
  const bad = (await store.status(SAFETY_MODEL)).find((f) => f.state !== 'ok');
  if (!bad) return undefined;
  return bad.state === 'missing' ? 'it is not installed' : `it is not verified (${bad.detail ?? 'corrupt'})`;
}

let shared: Promise<SafetyClassifier | undefined> | undefined;
let saidMissing = false;

/** This process's classifier per the settings: undefined when off, or (auto) when not installed. */
async function classifier(): Promise<SafetyClassifier | undefined> {
  const c = config();
  if (c.FACECHAIN_SAFETY_CHECK === 'off') return undefined;
  shared ??= (async () => {
    const store = new ModelStore(c.modelsDir);
    const problem = await safetyProblem(store);
    if (problem && c.FACECHAIN_SAFETY_CHECK === 'auto') {
      if (!saidMissing)
        logger.info({ problem }, 'output safety check not available: results are not checked');
      saidMissing = true;
      return undefined;
    }
    return SafetyClassifier.load(store);
  })();
  try {
    return await shared;
  } catch (e) {
    shared = undefined; // a later job tries again (the operator may install it meanwhile)
    throw e;
  }
}

/**
 * Before a picture job does any work: with FACECHAIN_SAFETY_CHECK=required and no classifier,
 * the job is "not available" rather than sending unchecked pictures.
 */
export async function assertSafetyReady(): Promise<void> {
  await classifier();
}

/** Indices of the pictures the check flags (empty when the check is off or not installed). */
export async function flaggedPictures(images: readonly RgbImage[], job: string): Promise<number[]> {
  const model = await classifier();
  if (!model || images.length === 0) return [];
  const threshold = config().FACECHAIN_SAFETY_THRESHOLD;
  const scores = await model.scores(images);
  const flagged = scores.flatMap((s, i) => (s >= threshold ? [i] : []));
  // What the operator needs to audit it: counts and scores, never a picture.
  logger.info(
    {
      job,
      checked: images.length,
      flagged: flagged.length,
      threshold,
      scores: scores.map((s) => Math.round(s * 1000) / 1000),
    },
    'safety check',
  );
  return flagged;
}
