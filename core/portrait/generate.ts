/**
 * generate: portraits of the user in a style, FaceChain's inference on the SD 1.5 engine.
 * Runs in a worker thread on the gpu-sd15 queue. Stages (progress and cancellation between
 * them, per-step progress from the denoise loop):
 *  1. identity: the prepared template face and embedding (or the photo's face, zero-shot);
 *  2. plan: style pack + identity → prompt, LoRAs, sampler (core/styles/plan.ts). Identity by
 *     FACT face tokens when FACT is installed for the pack's base, else the identity's trained
 *     face LoRA, else none (plain style generation: the likeness then comes from fusion alone);
 *     a request in 'lora' mode with a trained LoRA uses the LoRA;
 *  3. candidates: SdPipeline, seeded (the job's seed, or a random one);
 *  4. post-processing: fuse the template face into every candidate, keep one-face candidates of
 *     the right size, rank by likeness (core/rank/postprocess.ts);
 *  5. store the top `count` as the user's artifacts, with their scores.
 * Nothing of a user stays in memory after the job: face tokens are per job, and a pipeline on a
 * merged face-LoRA folder is closed when the job ends (the folder on disk is erased by forget).
 */
import { randomInt } from 'node:crypto';
import {
  FacechainError,
  InputError,
  ModelError,
  NotAvailableError,
  throwIfAborted,
} from '../../base/errors.ts';
import { log } from '../../base/log.ts';
import { ModelStore } from '../../models/store.ts';
import { config } from '../config.ts';
import { type GenerateHooks, LIMITS, type Progress, SdPipeline, sharedPipeline } from '../diffusion/index.ts';
import { analyzerForTask } from '../face/shared.ts';
import { alignedFaceCrop } from '../fact/crop.ts';
import { FactEncoder, factModelIds, factUnetFeeds } from '../fact/encoder.ts';
import {
  type IdentityFace,
  type IdentityFiles,
  loadIdentityFace,
  loadPhotoFace,
} from '../identity/face-source.ts';
import { decodeImage, encodePng, type RgbImage } from '../image/codec.ts';
import { LoraLibrary } from '../lora/library.ts';
import { faceLoraFile, mergedFolders } from '../lora/user-models.ts';
import { planUserStyle, userStyleStore } from '../lora/user-styles.ts';
import { poseImageFor } from '../pose/pose.ts';
import { sharedBodyModels } from '../pose/shared.ts';
import { postProcess } from '../rank/postprocess.ts';
import { assertSafetyReady, flaggedPictures } from '../safety/classifier.ts';
import type { ArtifactStore } from '../storage/artifacts.ts';
import { styleCatalog } from '../styles/index.ts';
import { type IdentityInput, planGeneration, planOptions } from '../styles/plan.ts';
import { factBaseFolder, factReady, modelDirFor, POSE_CONTROLNET } from './models.ts';
import { PreviewPublisher } from './previews.ts';

const logger = log('generate');

/** What one request asks for (the `generate` job's data). */
export interface PortraitRequest {
  user: string;
  mode: 'zero-shot' | 'lora';
  identityId?: string;
  /** A photo of the face (zero-shot without a prepared identity). */
  photo?: string;
  /** An OpenPose skeleton image steering the body. */
  pose?: string;
  style: string;
  userStyle?: string;
  count: number;
  seed?: number;
  /** The user's own words, added to the style's prompt. */
  prompt?: string;
  /**
   * "Vary": every candidate starts from `seed`'s noise mixed with variation noise (variation
   * seed + candidate) at this strength (0 = that picture again, 1 = a new one).
   */
  variation?: { seed: number; strength: number };
}

/** What a portrait request made: the pictures (best first) and how they were made. */
export interface PortraitResult {
  images: string[];
  /** Likeness of each picture to the user's face (cosine, rounded to 0.001). */
  scores: number[];
  /** The seed each picture started from (with `variation`, the variation seed is `variationSeeds`). */
  seeds: number[];
  variationSeeds?: number[];
  strength?: number;
  sampler: string;
  steps: number;
  width: number;
  height: number;
  /** How the identity was applied: FACT face tokens, the trained face LoRA, or style only. */
  method: 'fact' | 'lora' | 'style-only';
  /** Pictures (indices into `images`) the output safety check flagged: sent blurred. */
  flagged?: number[];
  /** The skeleton taken from the user's pose photo (shown with the result). */
  skeleton?: string;
}

/** Where a pipeline reads and writes, when it stops, and how it reports its stages. */
export interface PipelineTask {
  artifacts: ArtifactStore;
  signal: AbortSignal;
  progress(stage: string, percent: number, extra?: { preview?: string }): void;
}

export async function generatePortraits(
  ctx: PipelineTask,
  data: PortraitRequest,
  /** The prepared identity's files and trained LoRA, when the request names one. */
  stored: (IdentityFiles & { lora?: string }) | undefined,
): Promise<PortraitResult> {
  const { artifacts, signal } = ctx;
  const c = config();
  // FACECHAIN_SAFETY_CHECK=required without the classifier: refused before any work.
  await assertSafetyReady();
  // The operator turned uploaded styles off: a request queued before that is refused, not run.
  if (data.userStyle && !c.FACECHAIN_USER_STYLES_ENABLED)
    throw new NotAvailableError(
      'Uploaded styles',
      'The operator turned them off on this deployment; choose one of the installed styles (/styles).',
    );
  const analyzer = await analyzerForTask(ctx);

  ctx.progress('identity', 2);
  let who: IdentityFace;
  if (data.identityId) who = await loadIdentityFace(analyzer, artifacts, data.identityId, stored, signal);
  else if (data.photo) who = await loadPhotoFace(analyzer, artifacts, data.photo, signal);
  else
    throw new InputError(
      'no_identity',
      'A portrait needs your face: prepare it first by sending a few photos of yourself, or send one photo with the request.',
    );
  throwIfAborted(signal);

  ctx.progress('plan', 5);
  const pack = (await styleCatalog()).get(data.style);
  const store = new ModelStore(c.modelsDir);
  const lora = stored?.lora;
  const useFact = !(data.mode === 'lora' && lora) && (await factReady(store, pack.base));
  const person = { gender: who.gender, ageBand: who.ageBand, age: who.age };
  const identity: IdentityInput =
    !useFact && lora
      ? { kind: 'lora', loraFile: await faceLoraFile(artifacts, lora), ...person }
      : // FACT's prompt carries no trigger token: it is also the prompt of plain style generation.
        { kind: 'fact', ...person };
  const method = useFact ? 'fact' : identity.kind === 'lora' ? 'lora' : 'style-only';
  const library = new LoraLibrary(c.FACECHAIN_MAX_LORA_BYTES * 4, {
    maxBytes: c.FACECHAIN_MAX_LORA_BYTES,
    maxRank: c.FACECHAIN_MAX_LORA_RANK,
  });
  const plan = await planGeneration(
    identity,
    pack,
    {
      library,
      store,
      defaultAdapterScale: c.FACECHAIN_FACT_ADAPTER_SCALE,
      // Looked up under the job's own user: another user's style id is "not found".
      ...(data.userStyle
        ? { userStyle: await planUserStyle(userStyleStore(), data.user, data.userStyle) }
        : {}),
    },
    data.prompt ? { extraPrompt: data.prompt } : {},
  );
  throwIfAborted(signal);

  ctx.progress('load-generator', 8);
  let dir = modelDirFor(pack.base);
  let pipe: SdPipeline;
  let ownPipe = false;
  const hooks: GenerateHooks = { signal };
  // FACT: the base folder with FACT's UNet, so the style LoRAs below merge into that UNet.
  if (useFact) dir = await factBaseFolder(dir, await store.path(factModelIds(pack.base).unet));
  if (plan.loras.length > 0) {
    // Base + LoRAs merged into a folder on disk (cached by content, erased by forget).
    try {
      dir = (await mergedFolders().get(dir, plan.loras)).dir;
    } catch (e) {
      // A LoRA that does not fit the installed base is the operator's problem (trainer or pack
      // made for another base); its message names server paths, so the user gets ModelError's.
      const code = (e as { code?: string }).code;
      if (code !== 'lora_no_match' && code !== 'lora_shape_mismatch') throw e;
      throw new ModelError(
        'lora_mismatch',
        `A LoRA of style "${pack.id}" (${method}) does not fit ${dir}: ${(e as Error).message}`,
      );
    }
  }
  if (useFact) {
    // Shared: FACT pipelines hold no user data (the face tokens are fed per run).
    pipe = sharedPipeline(dir);
    const encoder = await FactEncoder.fromStore(store, pack.base, { threads: c.FACECHAIN_ORT_THREADS });
    try {
      const detailed = await analyzer.analyzeDetailed(who.face.image, { signal });
      const face = detailed.analysis.faces[0];
      if (!face) throw new InputError('no_face', 'No face was found in your prepared photo.');
      const tokens = await encoder.faceTokens([alignedFaceCrop(detailed, face)]);
      const uncond = await encoder.zeroFaceTokens();
      const guidance = plan.sampler.cfg > 1;
      hooks.unetInputs = ({ images }) =>
        factUnetFeeds({ cond: tokens.data, uncond, images, guidance, scale: plan.adapterScale ?? 0.5 });
    } finally {
      await encoder.dispose();
    }
  } else if (plan.loras.some((u) => u.lora.name.startsWith('face:'))) {
    pipe = SdPipeline.open(dir);
    ownPipe = true;
  } else {
    pipe = sharedPipeline(dir);
  }

  try {
    // Pose: an OpenPose skeleton steers the body through an OpenPose ControlNet at FaceChain's
    // weight 1.0. A skeleton image is used as given; an ordinary photo of a person gives its
    // skeleton (core/pose), stored so the user can see what was taken from their photo.
    let pose: RgbImage | undefined;
    let skeleton: string | undefined;
    if (data.pose) {
      if (!pipe.controlNets.has(POSE_CONTROLNET))
        throw new NotAvailableError(
          'Pose-guided portraits',
          'This deployment has no OpenPose ControlNet installed; send /portrait without an image. Operators: export one into the SD model folder as controlnet-openpose/model.onnx, with a UNet exported with ControlNet residual inputs (docs/generation.md).',
        );
      const given = await decodeImage(await artifacts.read(data.pose));
      const made = await poseImageFor(
        await sharedBodyModels(),
        given,
        plan.sampler.width,
        plan.sampler.height,
        {
          signal,
        },
      );
      pose = made.image;
      if (made.source === 'photo')
        skeleton = (await artifacts.put(data.user, await encodePng(made.image), { ext: 'png' })).ref;
      throwIfAborted(signal);
    }
    const candidates = Math.max(data.count, c.FACECHAIN_GENERATE_CANDIDATES);
    const seed = data.seed ?? randomInt(2 ** 31);
    const rgbs: RgbImage[] = [];
    /** Per candidate: the seed it started from and, when varying, its variation seed. */
    const origins: Array<{ seed: number; variation?: number }> = [];
    const previews = new PreviewPublisher(ctx, data.user, c.FACECHAIN_PREVIEW_INTERVAL_MS);
    let post: Awaited<ReturnType<typeof postProcess>>;
    const common = {
      ...planOptions(plan),
      width: plan.sampler.width,
      height: plan.sampler.height,
      // A latent preview every step costs microseconds; the publisher keeps one every few seconds.
      previewEvery: 1,
      ...(pose
        ? { controls: [{ model: POSE_CONTROLNET, image: pose, scale: 1, preprocess: 'none' as const }] }
        : {}),
    };
    try {
      // The engine makes at most LIMITS.maxCount images per call; image n always uses seed + n.
      // Varying keeps one starting seed for every candidate, so each call makes one image.
      const perCall = data.variation ? 1 : LIMITS.maxCount;
      while (rgbs.length < candidates) {
        const offset = rgbs.length;
        const count = Math.min(perCall, candidates - offset);
        const pct = (p: Progress) =>
          10 +
          65 * Math.min(1, (offset + p.image - 1 + (p.images * p.step) / Math.max(1, p.total)) / candidates);
        hooks.onProgress = (p: Progress) => {
          ctx.progress('generate', pct(p));
          if (p.preview) previews.offer(p.preview, 'generate', pct(p));
        };
        ctx.progress('generate', 10 + (65 * offset) / candidates);
        const variation = data.variation
          ? { seed: (data.variation.seed + offset) % 2 ** 32, strength: data.variation.strength }
          : undefined;
        const generated = await pipe.generate(
          {
            ...common,
            seed: variation ? seed : (seed + offset) % 2 ** 32,
            count,
            batchSize: Math.min(5, count),
            ...(variation ? { variation } : {}),
          },
          hooks,
        );
        for (const [k, i] of generated.images.entries()) {
          rgbs.push(i.rgb);
          origins.push(
            variation ? { seed: i.seed, variation: variation.seed } : { seed: (seed + offset + k) % 2 ** 32 },
          );
        }
        throwIfAborted(signal);
      }
      throwIfAborted(signal);
      // The last preview stays up while the user's face is fused into the candidates.
      ctx.progress('post-process', 78);
      post = await postProcess({ analyzer }, who.face, who.embedding, rgbs, {
        topN: data.count,
        signal,
        fuseOptions: { blend: c.FACECHAIN_FUSION_BLEND },
      });
    } finally {
      // Previews are only for the wait: none is left stored after this, whatever happened.
      await previews.close();
    }
    throwIfAborted(signal);
    // Counts and reasons only (no prompt text, no images, no embeddings).
    logger.info(
      {
        method,
        pose: pose !== undefined,
        style: pack.id,
        candidates,
        kept: post.results.length,
        rejected: post.rejected.map((r) => r.reason),
      },
      'generated',
    );
    if (post.results.length === 0) {
      const reasons = [...new Set(post.rejected.map((r) => r.reason))].join(', ');
      throw new FacechainError(
        'no_usable_candidate',
        `None of the ${candidates} pictures made for you had one clear face of the right size (${reasons}), so there is nothing good to send. Try again, or choose another style.`,
        { context: { candidates, reasons } },
      );
    }

    ctx.progress('safety', 92, { preview: undefined });
    const flagged = await flaggedPictures(
      post.results.map((r) => r.image),
      'generate',
    );
    ctx.progress('store', 95);
    const images: string[] = [];
    const scores: number[] = [];
    for (const r of post.results) {
      images.push((await artifacts.put(data.user, await encodePng(r.image), { ext: 'png' })).ref);
      scores.push(Math.round(r.score * 1000) / 1000);
    }
    const picked = post.results.map((r) => origins[r.index] ?? { seed });
    ctx.progress('done', 100);
    return {
      images,
      scores,
      seeds: picked.map((o) => o.seed),
      ...(data.variation
        ? { variationSeeds: picked.map((o) => o.variation ?? 0), strength: data.variation.strength }
        : {}),
      sampler: plan.sampler.name,
      steps: plan.sampler.steps,
      width: plan.sampler.width,
      height: plan.sampler.height,
      method,
      ...(flagged.length ? { flagged } : {}),
      ...(skeleton ? { skeleton } : {}),
    };
  } finally {
    if (ownPipe) await pipe.close();
  }
}
