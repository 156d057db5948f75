import { describe, expect, it } from 'vitest';
import { redactUrl, scrub } from '../../base/log.ts';

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
