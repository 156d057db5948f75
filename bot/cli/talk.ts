/**
 * `facechain talk <portrait> (--text "…" [--voice V] [--offline] | --audio FILE) --out FILE.mp4`:
 * the talking-portrait path of the `talk` job, run on this machine. Prints one JSON line
 * {"out","engine","voice","durationS","frames","bytes"} (plus "fallback" when the offline voice
 * stood in); errors as {"error":{"code","message"}} with exit 2 for usage and 1 otherwise.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { errorInfo, FacechainError } from '../../base/errors.ts';
import { config } from '../../core/config.ts';
import { parseEngineChoice } from '../../core/talk/engines.ts';
import { runTalk, type TalkSpeech } from '../../core/talk/run.ts';
import { VIDEO_CAPS } from '../../core/video/encode.ts';
import { ModelStore } from '../../models/store.ts';
import type { CliCommand } from './main.ts';

const USAGE =
  'facechain talk <portrait> (--text "…" [--voice V] [--offline] | --audio FILE) --out FILE.mp4 ' +
  '[--engine auto|basic|sadtalker] [--enhance] [--no-head-motion] [--seed N] [--platform discord|telegram]';

const VALUED = new Set(['--text', '--voice', '--audio', '--out', '--engine', '--seed', '--platform']);
const FLAGS = new Set(['--offline', '--enhance', '--no-head-motion']);

class UsageError extends FacechainError {}

interface Parsed {
  files: string[];
  values: Map<string, string>;
  flags: Set<string>;
}

/** Options anywhere; `--` ends them (so a portrait may be named "--text.jpg"). */
function parse(argv: string[]): Parsed {
  const files: string[] = [];
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      files.push(...argv.slice(i + 1));
      break;
    }
    if (VALUED.has(a)) {
      const v = argv[i + 1];
      if (v === undefined) throw new UsageError('missing_value', `${a} needs a value. usage: ${USAGE}`);
      if (values.has(a)) throw new UsageError('repeated_option', `${a} is given twice. usage: ${USAGE}`);
      values.set(a, v);
      i++;
    } else if (FLAGS.has(a)) flags.add(a);
    else if (a.startsWith('--'))
      throw new UsageError('unknown_option', `Unknown option ${a}. usage: ${USAGE}`);
    else files.push(a);
  }
  return { files, values, flags };
}

function print(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

export const command: CliCommand = {
  summary:
    'Make a talking video of the face in <portrait>, speaking --text (an online voice, or the offline eSpeak NG voice) or your --audio file. Uses the best installed animation engine (--engine basic for the CPU animator). Prints one JSON line.',
  usage: USAGE,
  async run(argv) {
    let args: Parsed;
    let speech: TalkSpeech;
    let out: string;
    try {
      args = parse(argv);
      const { files, values, flags } = args;
      if (files.length !== 1)
        throw new UsageError('usage', `Give exactly one portrait (got ${files.length}). usage: ${USAGE}`);
      const text = values.get('--text');
      const audio = values.get('--audio');
      if ((text === undefined) === (audio === undefined))
        throw new UsageError('usage', `Give either --text or --audio. usage: ${USAGE}`);
      if (audio !== undefined && (values.has('--voice') || flags.has('--offline')))
        throw new UsageError('usage', `--voice and --offline go with --text, not --audio. usage: ${USAGE}`);
      const o = values.get('--out');
      if (!o) throw new UsageError('usage', `--out FILE.mp4 is required. usage: ${USAGE}`);
      if (path.extname(o).toLowerCase() !== '.mp4')
        throw new UsageError('bad_output', `--out must end in .mp4 (got "${o}").`);
      out = o;
      speech =
        text !== undefined
          ? {
              text,
              ...(values.has('--voice') ? { voice: values.get('--voice')! } : {}),
              ...(flags.has('--offline') ? { offline: true } : {}),
            }
          : { audio: audio! };
      const seed = values.get('--seed');
      if (seed !== undefined && !/^\d{1,9}$/.test(seed))
        throw new UsageError('bad_seed', `--seed must be a whole number, got "${seed}".`);
      const platform = values.get('--platform');
      if (platform !== undefined && !(platform in VIDEO_CAPS))
        throw new UsageError(
          'bad_platform',
          `--platform must be one of ${Object.keys(VIDEO_CAPS).join(', ')}, got "${platform}".`,
        );
      parseEngineChoice(values.get('--engine'));
    } catch (e) {
      const info = errorInfo(e);
      print({ error: info });
      return e instanceof UsageError || (e as { code?: string }).code === 'unknown_engine' ? 2 : 1;
    }
    const { files, values, flags } = args;
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
      const platform = values.get('--platform') as keyof typeof VIDEO_CAPS | undefined;
      const seed = values.get('--seed');
      const r = await runTalk({
        portrait,
        speech,
        out,
        engine: parseEngineChoice(values.get('--engine')),
        store: new ModelStore(config().modelsDir),
        ...(platform ? { maxBytes: VIDEO_CAPS[platform] } : {}),
        ...(flags.has('--no-head-motion') ? { headMotion: false } : {}),
        ...(flags.has('--enhance') ? { enhance: true } : {}),
        ...(seed !== undefined ? { seed: Number(seed) } : {}),
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
