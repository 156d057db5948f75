/**
 * `facechain talk <portrait> (--text "…" [--voice V] [--offline] | --audio FILE) --out FILE.mp4`:
 * the talking-portrait path of the `talk` job, run on this machine. Prints one JSON line
 * {"out","engine","voice","durationS","frames","bytes"} (plus "fallback" when the offline voice
 * stood in); a wrong command line exits 2 with the message on stderr (bot/cli/args.ts), and any
 * other error is the line {"error":{"code","message"}} with exit 1, as `analyze` does.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { errorInfo, FacechainError } from '../../base/errors.ts';
import { config } from '../../core/config.ts';
import { parseEngineChoice } from '../../core/talk/engines.ts';
import { runTalk, type TalkSpeech } from '../../core/talk/run.ts';
import { VIDEO_CAPS } from '../../core/video/encode.ts';
import { ModelStore } from '../../models/store.ts';
import { parseCommandLine, UsageError } from './args.ts';
import type { CliCommand } from './main.ts';

const USAGE =
  'facechain talk <portrait> (--text "…" [--voice V] [--offline] | --audio FILE) --out FILE.mp4 ' +
  '[--engine auto|basic|sadtalker] [--enhance] [--no-head-motion] [--seed N] [--platform discord|telegram]';

function print(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

export const command: CliCommand = {
  summary:
    'Make a talking video of the face in <portrait>, speaking --text (an online voice, or the offline eSpeak NG voice) or your --audio file. Uses the best installed animation engine (--engine basic for the CPU animator). Prints one JSON line.',
  usage: USAGE,
  async run(argv) {
    // The command line first (UsageError: exit 2, message and usage on stderr, bot/cli/main.ts);
    // then anything about the inputs is a JSON error line on stdout, exit 1.
    const args = parseCommandLine(argv, {
      strings: ['text', 'voice', 'audio', 'out', 'engine', 'seed', 'platform'],
      flags: ['offline', 'enhance', 'no-head-motion'],
      required: ['out'],
      positionals: { min: 1, max: 1, what: 'portrait' },
    });
    const text = args.string('text');
    const audio = args.string('audio');
    if ((text === undefined) === (audio === undefined))
      throw new UsageError('Give either --text or --audio.');
    if (audio !== undefined && (args.string('voice') !== undefined || args.flag('offline')))
      throw new UsageError('--voice and --offline go with --text, not --audio.');
    const out = args.string('out')!;
    if (path.extname(out).toLowerCase() !== '.mp4')
      throw new UsageError(`--out must end in .mp4 (got "${out}").`, 'bad_output');
    let speech: TalkSpeech =
      text !== undefined
        ? {
            text,
            ...(args.string('voice') !== undefined ? { voice: args.string('voice')! } : {}),
            ...(args.flag('offline') ? { offline: true } : {}),
          }
        : { audio: audio! };
    const seed = args.int('seed', { min: 0, max: 999_999_999 });
    const platform = args.choice('platform', Object.keys(VIDEO_CAPS) as (keyof typeof VIDEO_CAPS)[]);
    let engine: ReturnType<typeof parseEngineChoice>;
    try {
      engine = parseEngineChoice(args.string('engine'));
    } catch (e) {
      throw new UsageError(`--engine: ${(e as Error).message}`, 'unknown_engine');
    }
    const files = args.positionals;
    try {
      const portrait = await readFile(files[0]!).catch((e: NodeJS.ErrnoException) => {
        throw new FacechainError(
          'unreadable_file',
          `Cannot read the portrait ${files[0]}: ${e.code ?? e.message}.`,
        );
      });
      if ('audio' in speech && typeof speech.audio === 'string') {
        // Read the file here so an unreadable path gets the same error as the portrait's.
        const file = speech.audio;
        speech = {
          audio: await readFile(file).catch((e: NodeJS.ErrnoException) => {
            throw new FacechainError(
              'unreadable_file',
              `Cannot read the audio file ${file}: ${e.code ?? e.message}.`,
            );
          }),
        };
      }
      const r = await runTalk({
        portrait,
        speech,
        out,
        engine,
        store: new ModelStore(config().modelsDir),
        ...(platform ? { maxBytes: VIDEO_CAPS[platform] } : {}),
        ...(args.flag('no-head-motion') ? { headMotion: false } : {}),
        ...(args.flag('enhance') ? { enhance: true } : {}),
        ...(seed !== undefined ? { seed } : {}),
      });
      print({
        out: r.out,
        engine: r.engine,
        voice: r.voice,
        durationS: Math.round(r.durationS * 1000) / 1000,
        frames: r.frames,
        bytes: r.bytes,
        ...(r.fallback ? { fallback: r.fallback } : {}),
      });
      return 0;
    } catch (e) {
      print({ error: errorInfo(e) });
      return 1;
    }
  },
};
