/**
 * talk: a talking-head video of a portrait, from text (a voice speaks it) or from the user's
 * audio (core/talk/run.ts). This file is the CPU job: the basic animator, on every deployment
 * with ffmpeg. `talk-gpu.ts` is the same job on gpu-talk with a GPU engine; the command picks it
 * when a worker runs one. The reply names the engine and says when the offline voice stood in.
 */

import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { ArtifactRef } from '../../core/storage/artifacts.ts';
import { artifactRef, type MessagePart } from '../reply.ts';
import {
  baseData,
  defineJob,
  inThread,
  notInstalled,
  type ProcessorContext,
  type ProcessorSpec,
  reply,
  say,
} from './define.ts';

export const talkData = baseData.extend({
  portrait: artifactRef,
  /** The user's own audio (voice message or file); else `text` is spoken. */
  audio: artifactRef.optional(),
  text: z.string().min(1).max(5000).optional(),
  voice: z.string().max(64).optional(),
  /** "+10%"-style speaking rate and "+5Hz"-style pitch (core/speech validates them). */
  rate: z.string().max(8).optional(),
  pitch: z.string().max(8).optional(),
  /** The offline voice, asked for. */
  offline: z.boolean().optional(),
  /** The user's language: picks the default voice. */
  locale: z.enum(['en', 'zh-CN']).optional(),
  /** Deliver as a round video note (Telegram; up to a minute). */
  note: z.boolean().optional(),
});
export const talkResult = z.object({
  video: artifactRef,
  engine: z.enum(['basic', 'sadtalker']),
  voice: z.string().max(64).optional(),
  durationS: z.number(),
  /** Why the offline voice spoke instead of the online one. */
  fallback: z.string().max(32).optional(),
  /** Asked for as a round video note. */
  note: z.boolean().optional(),
});
type Data = z.infer<typeof talkData>;
type Result = z.infer<typeof talkResult>;

export function talkReply(r: Result) {
  const lines: MessagePart[] = [say('reply.talk'), say(`talk.engine.${r.engine}`)];
  if (r.fallback) lines.push(say(`talk.voice_fallback.${r.fallback}`));
  return { ...reply(lines), video: r.video, ...(r.note ? { videoNote: true } : {}) };
}

/** The CPU job runs where ffmpeg runs (the animator needs nothing else). */
async function cpuProcessor(): Promise<ProcessorSpec | ReturnType<typeof notInstalled>> {
  const { ffmpegVersion } = await import('../../core/media/ffmpeg.ts');
  try {
    await ffmpegVersion();
    return inThread(import.meta.url);
  } catch (e) {
    return notInstalled(`ffmpeg: ${(e as Error).message}`);
  }
}

export const talk = defineJob({
  name: 'talk',
  queue: 'cpu',
  data: talkData,
  result: talkResult,
  feature: {
    name: 'Talking portraits',
    howToEnable:
      'It needs a worker with ffmpeg installed (Debian: apt-get install ffmpeg espeak-ng; docs/talk.md).',
  },
  reply: talkReply,
  processor: cpuProcessor,
});

/** The talking video, made here with `engine`, stored as the user's artifact. */
export async function makeTalk(ctx: ProcessorContext<Data>, engine: 'basic' | 'sadtalker'): Promise<Result> {
  const { runTalk } = await import('../../core/talk/run.ts');
  const { analyzerForTask } = await import('../../core/face/shared.ts');
  const { config } = await import('../../core/config.ts');
  const { ModelStore } = await import('../../models/store.ts');
  const { VIDEO_CAPS } = await import('../../core/video/bitrate.ts');
  const { data, artifacts, signal } = ctx;
  const analyzer = await analyzerForTask(ctx);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fc-talk-'));
  try {
    const portrait = await artifacts.read(data.portrait);
    const audio = data.audio ? await artifacts.read(data.audio) : undefined;
    const speech = audio
      ? { audio: new Uint8Array(audio) }
      : {
          text: data.text ?? '',
          ...(data.voice ? { voice: data.voice } : {}),
          ...(data.rate ? { rate: data.rate } : {}),
          ...(data.pitch ? { pitch: data.pitch } : {}),
          ...(data.offline ? { offline: true } : {}),
          ...(data.locale ? { locale: data.locale } : {}),
          cacheScope: data.user,
        };
    // The file must fit what the platform accepts (Discord 10 MiB, Telegram bots 50 MB).
    const platform = data.target.platform;
    const maxBytes = platform === 'discord' ? VIDEO_CAPS.discord : VIDEO_CAPS.telegram;
    const weights = { speech: [2, 20], animate: [20, 85], encode: [85, 97] } as const;
    const out = path.join(dir, 'talk.mp4');
    const made = await runTalk({
      portrait: new Uint8Array(portrait),
      speech,
      out,
      engine,
      ...(engine === 'sadtalker' && config().FACECHAIN_TALK_ENHANCE ? { enhance: true } : {}),
      store: new ModelStore(config().modelsDir),
      analyzer,
      maxBytes,
      signal,
      progress: (stage, percent) => {
        const [from, to] = weights[stage];
        ctx.progress(stage, from + ((to - from) * percent) / 100);
      },
    });
    ctx.progress('store', 97);
    const stored: { ref: ArtifactRef } = await artifacts.put(data.user, createReadStream(out), {
      ext: 'mp4',
    });
    ctx.progress('done', 100);
    return {
      video: stored.ref,
      engine: made.engine,
      ...(made.voice ? { voice: made.voice } : {}),
      durationS: Math.round(made.durationS * 100) / 100,
      ...(made.fallback ? { fallback: made.fallback.reason } : {}),
      // A video note is at most a minute long: a longer video goes as an ordinary one.
      ...(data.note && made.durationS <= 60 ? { note: true } : {}),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function process(ctx: ProcessorContext<Data>): Promise<Result> {
  return makeTalk(ctx, 'basic');
}
