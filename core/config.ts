/**
 * The one reader of process.env. Every setting is validated here (zod) and listed in the README.
 * Names are prefixed FACECHAIN_ except the conventional ones (REDIS_URL, TELEGRAM_BOT_TOKEN, ...).
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../base/errors.ts';
import { setLogLevel, setLogSettingsSource } from '../base/log.ts';
import { SAMPLERS } from './diffusion/schedulers/index.ts';
import { type S3Settings, s3Settings } from './storage/s3-settings.ts';

/** Updates the front-ends handle at once, all platforms together (docs/frontends.md). */
export const DEFAULT_MAX_CONCURRENT_UPDATES = 16;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

export const configSchema = z.object({
  FACECHAIN_DATA_DIR: z.string().default('data'),
  FACECHAIN_MODELS_DIR: optionalString,
  FACECHAIN_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Log lines (stderr): auto = human-readable on a terminal, JSON when piped; or always json / pretty. */
  FACECHAIN_LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  /** Threads per ONNX Runtime session (intra-op). 0 = all cores. Pinned because sharp and ffmpeg share the host. */
  FACECHAIN_ORT_THREADS: int(0, 256).default(1),
  /** Comma-separated execution providers in order of preference, e.g. "cuda,cpu". */
  FACECHAIN_EXECUTION_PROVIDERS: z.string().default('cpu'),
  FACECHAIN_MAX_IMAGE_BYTES: int(1024, 200 * 1024 * 1024).default(20 * 1024 * 1024),
  FACECHAIN_MAX_IMAGE_PIXELS: int(1024, 268_402_689).default(40_000_000),
  /** Cosine similarity at or above which two faces count as the same person. */
  FACECHAIN_SAME_PERSON_THRESHOLD: z.coerce.number().min(-1).max(1).default(0.45),
  /** Face fusion blending: feather (alpha blend in a feathered mask) or poisson (seamless cloning). */
  FACECHAIN_FUSION_BLEND: z.enum(['feather', 'poisson']).default('feather'),
  /** Keep generated candidates whose single face's larger box side is strictly between these (px). */
  FACECHAIN_RANK_MIN_FACE: int(0, 10_000).default(120),
  FACECHAIN_RANK_MAX_FACE: int(1, 10_000).default(300),
  /** Identity and style (docs/identity-and-style.md). Operator style packs, loaded after the built-in ones. */
  FACECHAIN_STYLES_DIR: optionalString,
  /** Largest LoRA file accepted (style packs, uploads). */
  FACECHAIN_MAX_LORA_BYTES: int(1024, 4 * 1024 * 1024 * 1024).default(256 * 1024 * 1024),
  /** Highest LoRA rank accepted (SD 1.5 style LoRAs use 4-128). */
  FACECHAIN_MAX_LORA_RANK: int(1, 1024).default(128),
  /** Style LoRAs one user may upload. */
  FACECHAIN_USER_STYLES_MAX: int(0, 1000).default(5),
  /** Memory budget of the merged-session cache (MiB of merged model weights kept loaded). */
  FACECHAIN_LORA_CACHE_MB: int(0, 1_048_576).default(8192),
  /** Disk budget for merged model folders (base + LoRAs merged, under <data dir>/merged). */
  FACECHAIN_MERGED_MODELS_MB: int(0, 100_000_000).default(20_480),
  /** FaceChain-FACT adapter scale (face-token strength). */
  FACECHAIN_FACT_ADAPTER_SCALE: z.coerce.number().min(0).max(2).default(0.5),
  /** Diffusers ONNX export folder of the default SD 1.5 base (default: <models dir>/sd15-film). */
  FACECHAIN_SD_MODEL_DIR: optionalString,
  /** Default sampler for generation (FaceChain's own: dpm-single; FACT: pndm). */
  FACECHAIN_SD_SAMPLER: z.enum(SAMPLERS).default('dpm-single'),
  /** Prompt embeddings kept per loaded model (each is 77 x 768 floats per window, ~236 KB). */
  FACECHAIN_SD_PROMPT_CACHE: int(0, 10_000).default(32),
  /** Candidates generated per portrait request before filtering and ranking (FaceChain: 10). */
  FACECHAIN_GENERATE_CANDIDATES: int(1, 64).default(10),
  /** Face-LoRA trainer command line (run without a shell; docs/pipelines.md has the contract). Unset: no training here. */
  FACECHAIN_TRAINER_CMD: optionalString,
  /** Deadline of one training run, seconds. */
  FACECHAIN_TRAINER_TIMEOUT_S: int(1, 86_400).default(2700),
  // Speech, audio and video (docs/talk.md).
  /** Use the online neural voice (Microsoft Edge read-aloud service); off = the offline eSpeak NG voice only. */
  FACECHAIN_TTS_ONLINE: z
    .enum(['true', 'false', '1', '0', 'on', 'off'])
    .default('true')
    .transform((v) => v === 'true' || v === '1' || v === 'on'),
  /** Deadline of one online speech request (connect + synthesis), ms. */
  FACECHAIN_TTS_TIMEOUT_MS: int(1000, 120_000).default(20_000),
  /** Disk budget of the online speech cache under <data dir>/cache/speech (0 = no cache). */
  FACECHAIN_TTS_CACHE_MB: int(0, 100_000).default(256),
  /** Run the GFPGAN face enhancer on every frame of GPU talking videos (needs talk-gfpgan installed). */
  FACECHAIN_TALK_ENHANCE: z
    .enum(['true', 'false', '1', '0', 'on', 'off'])
    .default('false')
    .transform((v) => v === 'true' || v === '1' || v === 'on'),
  /** Longest text a talking video may speak (characters, after control characters are removed). */
  FACECHAIN_TALK_MAX_TEXT: int(1, 5000).default(500),
  /** Longest audio accepted from a user (voice message, file), seconds; refused from its header. */
  FACECHAIN_TALK_MAX_AUDIO_SECONDS: int(1, 3600).default(60),
  /** ffmpeg executable (unset: `ffmpeg` on PATH). Run as a separate process, never linked. */
  FACECHAIN_FFMPEG_PATH: optionalString,
  /** ffprobe executable (unset: next to FACECHAIN_FFMPEG_PATH when that is set, else `ffprobe` on PATH). */
  FACECHAIN_FFPROBE_PATH: optionalString,
  /** Deadline of one ffmpeg run (decoding or encoding a video), seconds. */
  FACECHAIN_FFMPEG_TIMEOUT_S: int(5, 86_400).default(600),
  /** eSpeak NG executable (unset: `espeak-ng` on PATH); GPL-3.0, run as a separate process. */
  FACECHAIN_ESPEAK_PATH: optionalString,
  REDIS_URL: optionalString,
  // Job system (queue/): see docs/jobs.md.
  /** Prefix of every Redis key the job layer writes (BullMQ queues and records). */
  FACECHAIN_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/)
    .default('fc'),
  /** Queues this process works on: cpu, gpu-sd15, gpu-talk (comma-separated). */
  FACECHAIN_WORKER_QUEUES: z.string().default('cpu'),
  FACECHAIN_WORKER_CONCURRENCY: int(1, 64).default(1),
  /** Worker threads that run inference off the event loop. */
  FACECHAIN_WORKER_THREADS: int(1, 64).default(1),
  FACECHAIN_USER_MAX_PENDING: int(1, 10_000).default(5),
  FACECHAIN_USER_MAX_RUNNING: int(1, 1_000).default(2),
  FACECHAIN_USER_DAILY_QUOTA: int(1, 1_000_000).default(50),
  FACECHAIN_JOB_ATTEMPTS: int(1, 50).default(3),
  FACECHAIN_JOB_BACKOFF_MS: int(0, 3_600_000).default(5000),
  FACECHAIN_KEEP_COMPLETED_SECONDS: int(0, 31_536_000).default(691_200),
  FACECHAIN_KEEP_FAILED_SECONDS: int(0, 31_536_000).default(604_800),
  FACECHAIN_LOCK_DURATION_MS: int(1000, 3_600_000).default(30_000),
  FACECHAIN_STALLED_INTERVAL_MS: int(100, 3_600_000).default(30_000),
  FACECHAIN_SHUTDOWN_DEADLINE_MS: int(0, 3_600_000).default(30_000),
  /** Health and Prometheus metrics HTTP endpoint; port 0 turns it off. */
  FACECHAIN_HEALTH_PORT: int(0, 65535).default(9464),
  FACECHAIN_HEALTH_HOST: z.string().default('127.0.0.1'),
  /**
   * Retention (docs/jobs.md "Retention"): stored files no record or unfinished job names are
   * deleted once older than this many hours; 0 keeps them until the user's /forget.
   */
  FACECHAIN_KEEP_FILES_HOURS: int(0, 87_600).default(168),
  /** How often a worker process runs the retention sweep. */
  FACECHAIN_RETENTION_INTERVAL_MINUTES: int(1, 10_080).default(60),
  /** Artifact folder (photos, crops, results); default <data>/artifacts. */
  FACECHAIN_ARTIFACTS_DIR: optionalString,
  /** s3://bucket[/prefix]: keep artifacts in an S3-compatible bucket instead (docs/storage.md). */
  FACECHAIN_ARTIFACTS_URL: optionalString,
  /** Bucket in the URL path (auto: when AWS_ENDPOINT_URL[_S3] names a server, or the bucket has dots). */
  FACECHAIN_S3_PATH_STYLE: z.enum(['auto', 'true', 'false']).default('auto'),
  /** Multipart part size; larger streams go up in parts of this size (S3's minimum: 5). */
  FACECHAIN_S3_PART_MB: int(5, 5120).default(8),
  // The AWS tools' standard variables, for the S3 store only.
  AWS_ACCESS_KEY_ID: optionalString,
  AWS_SECRET_ACCESS_KEY: optionalString,
  AWS_SESSION_TOKEN: optionalString,
  AWS_REGION: optionalString,
  AWS_DEFAULT_REGION: optionalString,
  AWS_ENDPOINT_URL: optionalString,
  AWS_ENDPOINT_URL_S3: optionalString,
  TELEGRAM_BOT_TOKEN: optionalString,
  TELEGRAM_API_ROOT: optionalString,
  TELEGRAM_WEBHOOK_URL: optionalString,
  TELEGRAM_WEBHOOK_SECRET: optionalString,
  DISCORD_TOKEN: optionalString,
  DISCORD_APPLICATION_ID: optionalString,
  DISCORD_GUILD_ID: optionalString,
  DISCORD_API_ROOT: optionalString,
  WEB_PORT: int(0, 65535).default(7860),
  WEB_HOST: z.string().default('127.0.0.1'),
  /** Front-ends (commands/, bot/): see docs/frontends.md. */
  FACECHAIN_WEB_ENABLED: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
  /** Minimum time between progress edits in one Telegram chat (flood limits: ~20 edits/min per group). */
  FACECHAIN_TELEGRAM_EDIT_INTERVAL_MS: int(500, 600_000).default(3000),
  /** Where the Telegram webhook server listens when TELEGRAM_WEBHOOK_URL is set (behind your TLS proxy). */
  FACECHAIN_TELEGRAM_WEBHOOK_PORT: int(1, 65535).default(8443),
  FACECHAIN_TELEGRAM_WEBHOOK_HOST: z.string().default('127.0.0.1'),
  /** Updates (commands, buttons, uploads) handled at once across chats and front-ends; more wait their turn. */
  FACECHAIN_MAX_CONCURRENT_UPDATES: int(1, 10_000).default(DEFAULT_MAX_CONCURRENT_UPDATES),
  // What users see and what operators allow (docs/frontends.md "Safe groups", docs/replies.md).
  /** Users refused everything: comma-separated platform:id (telegram:123, discord:456, web:<session>). */
  FACECHAIN_BANNED_USERS: optionalString,
  /** Chats (groups, servers, channels) where the bot does nothing: comma-separated platform:id. */
  FACECHAIN_BANNED_CHATS: optionalString,
  /** Words or phrases refused in any text a user gives (comma-separated, case-insensitive). */
  FACECHAIN_PROMPT_BLOCKLIST: optionalString,
  /** A file with more such words, one per line (# starts a comment). */
  FACECHAIN_PROMPT_BLOCKLIST_FILE: optionalString,
  /** opt-in: a group uses group features (and makes portraits in the group) after an admin's /group on. */
  FACECHAIN_GROUP_FEATURES: z.enum(['opt-in', 'open']).default('opt-in'),
  /** Users may upload their own style LoRAs (/mystyle); false turns uploads and their use off. */
  FACECHAIN_USER_STYLES_ENABLED: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
  /**
   * Output safety check of result pictures: auto = where the classifier model is installed;
   * required = refuse picture jobs on workers without it; off = never.
   */
  FACECHAIN_SAFETY_CHECK: z.enum(['auto', 'required', 'off']).default('auto'),
  /** Classifier score (0-1) at or above which a result is flagged and sent blurred. */
  FACECHAIN_SAFETY_THRESHOLD: z.coerce.number().min(0).max(1).default(0.7),
  /** Shortest time between two generation preview pictures of one job. */
  FACECHAIN_PREVIEW_INTERVAL_MS: int(100, 600_000).default(3000),
  /** Minimum time between progress edits of one Discord interaction (its webhook's rate limit). */
  FACECHAIN_DISCORD_EDIT_INTERVAL_MS: int(500, 600_000).default(2000),
  /** Register Discord slash commands at start-up (per guild when DISCORD_GUILD_ID is set, else global). */
  FACECHAIN_DISCORD_REGISTER: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
});

export type RawConfig = z.infer<typeof configSchema>;

export interface Config extends RawConfig {
  dataDir: string;
  modelsDir: string;
  artifactsDir: string;
  /** Set when FACECHAIN_ARTIFACTS_URL names an S3 bucket: the artifact store lives there. */
  artifactsS3?: S3Settings;
  stylesDir: string;
  mergedModelsDir: string;
  /** Online speech cache (content-addressed, bounded by FACECHAIN_TTS_CACHE_MB). */
  speechCacheDir: string;
  executionProviders: string[];
  cores: number;
}

/** Parse and validate settings. Pass an env object in tests; production reads process.env. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const relevant: Record<string, string | undefined> = {};
  for (const key of Object.keys(configSchema.shape)) relevant[key] = env[key];
  const parsed = configSchema.safeParse(relevant);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(
      'bad_config',
      `Invalid configuration: ${problems}. See the settings table in README.md.`,
    );
  }
  const raw = parsed.data;
  const dataDir = path.resolve(raw.FACECHAIN_DATA_DIR);
  return {
    ...raw,
    dataDir,
    modelsDir: path.resolve(raw.FACECHAIN_MODELS_DIR ?? path.join(dataDir, 'models')),
    artifactsDir: path.resolve(raw.FACECHAIN_ARTIFACTS_DIR ?? path.join(dataDir, 'artifacts')),
    artifactsS3: raw.FACECHAIN_ARTIFACTS_URL
      ? s3Settings({
          url: raw.FACECHAIN_ARTIFACTS_URL,
          accessKeyId: raw.AWS_ACCESS_KEY_ID,
          secretAccessKey: raw.AWS_SECRET_ACCESS_KEY,
          sessionToken: raw.AWS_SESSION_TOKEN,
          region: raw.AWS_REGION,
          defaultRegion: raw.AWS_DEFAULT_REGION,
          endpointUrl: raw.AWS_ENDPOINT_URL,
          endpointUrlS3: raw.AWS_ENDPOINT_URL_S3,
          pathStyle: raw.FACECHAIN_S3_PATH_STYLE,
          partMb: raw.FACECHAIN_S3_PART_MB,
        })
      : undefined,
    stylesDir: path.resolve(raw.FACECHAIN_STYLES_DIR ?? path.join(dataDir, 'styles')),
    mergedModelsDir: path.join(dataDir, 'merged'),
    speechCacheDir: path.join(dataDir, 'cache', 'speech'),
    executionProviders: raw.FACECHAIN_EXECUTION_PROVIDERS.split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
    cores: os.availableParallelism(),
  };
}

let cached: Config | undefined;

/** The process-wide configuration, read once. */
export function config(): Config {
  if (!cached) {
    cached = loadConfig();
    setLogLevel(cached.FACECHAIN_LOG_LEVEL);
  }
  return cached;
}

// The logger (base/log.ts) reads no settings itself: it asks here when it first logs.
setLogSettingsSource(() => ({ level: config().FACECHAIN_LOG_LEVEL, format: config().FACECHAIN_LOG_FORMAT }));
