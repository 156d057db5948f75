import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { logFormat, redactUrl, scrub } from '../../base/log.ts';
import { prettyLine } from '../../base/log-pretty.ts';

describe('log scrubbing', () => {
  it('redacts bot tokens inside Telegram file URLs', () => {
    const url = 'https://api.example/file/bot123456:AAH-secret_token/photos/file_1.jpg';
    expect(redactUrl(url)).not.toContain('AAH-secret_token');
    expect(redactUrl(url)).toContain('/bot<redacted>/photos/file_1.jpg');
  });

  it('replaces binary payloads and secret fields', () => {
    const out = scrub({
      image: Buffer.alloc(2048),
      nested: { discordToken: 'abc', ok: 1 },
      px: new Float32Array(4),
    }) as Record<string, unknown>;
    expect(out.image).toBe('<2048 bytes>');
    expect(out.px).toBe('<16 bytes>');
    expect(out.nested).toEqual({ discordToken: '<redacted>', ok: 1 });
  });
});

describe('log format', () => {
  it('is human-readable on a terminal and JSON when piped, unless the setting says otherwise', () => {
    expect(logFormat('auto', true)).toBe('pretty');
    expect(logFormat('auto', false)).toBe('json');
    expect(logFormat('json', true)).toBe('json');
    expect(logFormat('pretty', false)).toBe('pretty');
  });

  it('turns a pino line into time, level, module, message and fields; errors with their stack', () => {
    const time = new Date(2026, 0, 2, 3, 4, 5, 6).getTime();
    const line = JSON.stringify({
      level: 40,
      time,
      pid: 1,
      module: 'redis',
      port: 6379,
      dir: '/tmp/a b',
      msg: 'started',
    });
    expect(prettyLine(line)).toBe('03:04:05.006 WARN  redis: started port=6379 dir="/tmp/a b"\n');
    expect(prettyLine(line, true)).toContain('\x1b[33mWARN \x1b[0m');
    const err = {
      type: 'ServiceError',
      message: 'gone',
      code: 'redis_down',
      stack: 'ServiceError: gone\n  at f (x.ts:1:2)',
    };
    expect(prettyLine(JSON.stringify({ level: 50, time, msg: 'failed', err }))).toBe(
      '03:04:05.006 ERROR failed\n    ServiceError: gone [redis_down]\n    at f (x.ts:1:2)\n',
    );
    // Below error level, the message without the stack.
    expect(prettyLine(JSON.stringify({ level: 30, time, msg: 'retry', err }))).toBe(
      '03:04:05.006 INFO  retry\n    ServiceError: gone [redis_down]\n',
    );
    expect(prettyLine('not json')).toBe('not json\n');
  });

  it('writes JSON to a pipe and lines when told to, on stderr only', async () => {
    const run = (env: Record<string, string>) =>
      promisify(execFile)(
        process.execPath,
        [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          // The logger takes its settings from core/config.ts, which every entry point loads.
          "import './core/config.ts'; import { log } from './base/log.ts'; log('t').info({ n: 1 }, 'hello');",
        ],
        { env: { ...process.env, FACECHAIN_LOG_LEVEL: 'info', ...env } },
      );
    const piped = await run({ FACECHAIN_LOG_FORMAT: 'auto' });
    expect(piped.stdout).toBe('');
    expect(JSON.parse(piped.stderr)).toMatchObject({ level: 30, module: 't', n: 1, msg: 'hello' });
    const pretty = await run({ FACECHAIN_LOG_FORMAT: 'pretty' });
    expect(pretty.stdout).toBe('');
    expect(pretty.stderr).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}t: hello n=1\n$/);
  });
});
