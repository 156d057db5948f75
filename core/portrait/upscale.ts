/**
 * Upscale: a result picture redrawn at twice its size (at most 1024 px a side, SD 1.5's useful
 * range) by the engine's img2img: the picture is enlarged, then denoised from a low strength
 * with its style's prompt, which adds the detail plain resizing cannot. Runs where generation
 * runs (the SD 1.5 model folder); the user's face keeps its likeness, which is measured again.
 */
import { randomInt } from 'node:crypto';
import { InputError, throwIfAborted } from '../../base/errors.ts';
import { log } from '../../base/log.ts';
import { config } from '../config.ts';
import type { Progress } from '../diffusion/index.ts';
import { sharedPipeline } from '../diffusion/index.ts';
import { cosine } from '../face/index.ts';
import { analyzerForTask } from '../face/shared.ts';
import { type IdentityFiles, loadIdentityFace } from '../identity/face-source.ts';
import { decodeImage, encodePng, resizeRgb } from '../image/codec.ts';
import { LoraLibrary } from '../lora/library.ts';
import { assertSafetyReady, flaggedPictures } from '../safety/classifier.ts';
import { styleCatalog } from '../styles/index.ts';
import { planGeneration, planOptions } from '../styles/plan.ts';
import type { PipelineTask } from './generate.ts';
import { modelDirFor } from './models.ts';
import { PreviewPublisher } from './previews.ts';

const logger = log('generate');

/** Longest side of an upscaled picture, and the img2img strength that keeps the picture. */
export const UPSCALE = { factor: 2, maxSide: 1024, strength: 0.3 } as const;

export interface UpscaleRequest {
  user: string;
  /** The result picture (artifact ref of the user's). */
  image: string;
  /** Its style (the prompt that redraws it); the default pack when absent. */
  style?: string;
  identityId?: string;
  seed?: number;
}

/** The size an upscale makes: twice as large, multiples of 8, the longer side at most 1024. */
export function upscaleSize(width: number, height: number): { width: number; height: number } {
  const scale = Math.min(UPSCALE.factor, UPSCALE.maxSide / Math.max(width, height));
  const snap = (v: number) => Math.max(64, Math.floor((v * scale) / 8) * 8);
  return { width: snap(width), height: snap(height) };
}

export async function upscalePortrait(
  ctx: PipelineTask,
  data: UpscaleRequest,
  stored: IdentityFiles | undefined,
): Promise<{
  images: string[];
  scores: number[];
  width: number;
  height: number;
  seed: number;
  flagged?: number[];
}> {
  const { artifacts, signal } = ctx;
  const c = config();
  await assertSafetyReady();
  ctx.progress('read', 2);
  const picture = await decodeImage(await artifacts.read(data.image));
  const size = upscaleSize(picture.width, picture.height);
  if (size.width <= picture.width && size.height <= picture.height)
    throw new InputError(
      'already_large',
      `This picture is already ${picture.width}×${picture.height}; upscaling makes pictures up to ${UPSCALE.maxSide} px a side.`,
    );
  const analyzer = await analyzerForTask(ctx);
  const who = data.identityId
    ? await loadIdentityFace(analyzer, artifacts, data.identityId, stored, signal)
    : undefined;
  throwIfAborted(signal);

  ctx.progress('plan', 6);
  const catalog = await styleCatalog();
  const pack = data.style ? catalog.get(data.style) : catalog.get([...catalog.packs.keys()][0]);
  const plan = await planGeneration(
    { kind: 'fact', gender: who?.gender ?? 'female', ageBand: who?.ageBand ?? 'adult', age: who?.age },
    { ...pack, loras: [], loraPaths: [] },
    {
      library: new LoraLibrary(0, {
        maxBytes: c.FACECHAIN_MAX_LORA_BYTES,
        maxRank: c.FACECHAIN_MAX_LORA_RANK,
      }),
      defaultAdapterScale: 0,
    },
  );
  ctx.progress('load-generator', 10);
  const pipe = sharedPipeline(modelDirFor(pack.base));
  const enlarged = await resizeRgb(picture, size.width, size.height);
  const seed = data.seed ?? randomInt(2 ** 31);
  const previews = new PreviewPublisher(ctx, data.user, c.FACECHAIN_PREVIEW_INTERVAL_MS);
  let out: Awaited<ReturnType<typeof pipe.generate>>;
  try {
    out = await pipe.generate(
      {
        ...planOptions(plan),
        width: size.width,
        height: size.height,
        seed,
        count: 1,
        initImage: enlarged,
        strength: UPSCALE.strength,
        previewEvery: 1,
      },
      {
        signal,
        onProgress: (p: Progress) => {
          const pct = 12 + (70 * p.step) / Math.max(1, p.total);
          ctx.progress('upscale', pct);
          if (p.preview) previews.offer(p.preview, 'upscale', pct);
        },
      },
    );
  } finally {
    await previews.close();
  }
  throwIfAborted(signal);
  const image = out.images[0].rgb;

  ctx.progress('score', 85, { preview: undefined });
  const scores: number[] = [];
  if (who) {
    // The largest face of the larger picture against the user's face.
    const a = await analyzer.analyzeRgb(image, { embedding: true, orientation: false, signal });
    const face = [...a.faces].sort((x, y) => area(y.box) - area(x.box))[0];
    if (face?.embedding) scores.push(Math.round(cosine(face.embedding, who.embedding) * 1000) / 1000);
  }
  ctx.progress('safety', 92);
  const flagged = await flaggedPictures([image], 'upscale');
  ctx.progress('store', 95);
  const stored2 = await artifacts.put(data.user, await encodePng(image), { ext: 'png' });
  logger.info({ style: pack.id, width: size.width, height: size.height }, 'upscaled');
  ctx.progress('done', 100);
  return {
    images: [stored2.ref],
    scores,
    width: size.width,
    height: size.height,
    seed,
    ...(flagged.length ? { flagged } : {}),
  };
}

const area = (b: readonly number[]) => Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
