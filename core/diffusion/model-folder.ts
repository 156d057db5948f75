/**
 * Reads a diffusers ONNX export folder (OnnxStableDiffusionPipeline / optimum layout):
 *
 *   model_index.json
 *   text_encoder/model.onnx      tokenizer/vocab.json + merges.txt, or tokenizer/tokenizer.json
 *   unet/model.onnx (+ weights.pb or model.onnx_data: external weights for models over 2 GB)
 *   vae_decoder/model.onnx (+ config.json with scaling_factor, optimum)
 *   vae_encoder/model.onnx       (img2img and inpainting only)
 *   scheduler/scheduler_config.json
 *
 * Checks that required files exist and names the first one missing; creates each ONNX Runtime
 * session once, on first use, with the configured execution providers; disposes them on close().
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ModelError } from '../../base/errors.ts';
import { log } from '../../base/log.ts';
import { OnnxSession } from '../../models/onnx.ts';
import { config } from '../config.ts';
import { folderProblem, missingFile } from './folder-check.ts';
import { parseSchedulerConfig, type SchedulerConfig } from './schedulers/config.ts';
import { ClipTokenizer } from './tokenizer.ts';

const logger = log('diffusion');

export interface SessionSettings {
  providers?: string[];
  threads?: number;
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ModelError('bad_model_folder', `${file} is not valid JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

export class SdModelFolder {
  readonly tokenizer: ClipTokenizer;
  readonly scheduler: SchedulerConfig;
  readonly index: Record<string, unknown>;
  /** VAE latent scaling (0.18215 for SD 1.x unless the export says otherwise). */
  readonly scalingFactor: number;
  private readonly sessions = new Map<string, Promise<OnnxSession>>();
  private readonly settings: Required<SessionSettings>;

  private constructor(
    readonly dir: string,
    settings: SessionSettings,
  ) {
    this.settings = {
      providers: settings.providers ?? config().executionProviders,
      threads: settings.threads ?? config().FACECHAIN_ORT_THREADS,
    };
    this.index = readJson(path.join(dir, 'model_index.json'));
    this.tokenizer = ClipTokenizer.fromFolder(path.join(dir, 'tokenizer'));
    this.scheduler = parseSchedulerConfig(
      readJson(path.join(dir, 'scheduler/scheduler_config.json')),
      path.join(dir, 'scheduler/scheduler_config.json'),
    );
    const vaeConfig = path.join(dir, 'vae_decoder/config.json');
    const sf = existsSync(vaeConfig) ? readJson(vaeConfig).scaling_factor : undefined;
    this.scalingFactor = typeof sf === 'number' && sf > 0 ? sf : 0.18215;
  }

  /**
   * What is wrong with a model folder, or undefined when it has every required file (for the job
   * layer deciding whether generation is available, without loading anything).
   */
  static problem(dir: string): string | undefined {
    return folderProblem(dir);
  }

  /** Open a model folder; throws ModelError naming the first missing file. */
  static open(dir: string, settings: SessionSettings = {}): SdModelFolder {
    if (!existsSync(dir))
      throw new ModelError(
        'model_missing_file',
        `Model folder ${dir} does not exist. Export a Stable Diffusion model there (docs/generation.md).`,
        { context: { dir } },
      );
    const f = missingFile(dir);
    if (f)
      throw new ModelError(
        'model_missing_file',
        `Model folder ${dir} is missing ${f}. It must be a diffusers ONNX export (docs/generation.md).`,
        { context: { dir, file: f } },
      );
    return new SdModelFolder(dir, settings);
  }

  has(component: string): boolean {
    return existsSync(path.join(this.dir, component, 'model.onnx'));
  }

  /** The session of a component (created once). `file` defaults to <component>/model.onnx. */
  session(component: string, file = path.join(this.dir, component, 'model.onnx')): Promise<OnnxSession> {
    let s = this.sessions.get(file);
    if (!s) {
      if (!existsSync(file))
        throw new ModelError('model_missing_file', `Model file ${file} is missing.`, { context: { file } });
      logger.info({ component, providers: this.settings.providers }, 'loading model');
      s = OnnxSession.create(file, {
        name: `${path.basename(this.dir)}/${component}`,
        providers: this.settings.providers,
        threads: this.settings.threads,
        // Latent sizes vary between jobs; ORT's memory pattern only helps fixed shapes.
        memPattern: false,
      });
      s.catch(() => this.sessions.delete(file));
      this.sessions.set(file, s);
    }
    return s;
  }

  /** Whether the UNet is a 9-channel inpainting UNet (from its input shape or the pipeline class). */
  async unetInChannels(session?: OnnxSession): Promise<number> {
    const unet = session ?? (await this.session('unet'));
    const sample = unet.inputs.find((i) => i.name === 'sample');
    const c = sample?.shape[1];
    if (typeof c === 'number' && c > 0) return c;
    const unetConfig = path.join(this.dir, 'unet/config.json');
    if (existsSync(unetConfig)) {
      const v = readJson(unetConfig).in_channels;
      if (typeof v === 'number') return v;
    }
    return String(this.index._class_name ?? '').includes('Inpaint') ? 9 : 4;
  }

  async close(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) {
      try {
        await (await s).dispose();
      } catch {
        // A session that failed to load has nothing to release.
      }
    }
  }
}
