import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../base/errors.ts';
import { loadConfig } from '../../core/config.ts';

describe('config', () => {
  it('applies defaults and derives folders', () => {
    const c = loadConfig({});
    expect(c.WEB_PORT).toBe(7860);
    expect(c.dataDir).toBe(path.resolve('data'));
    expect(c.modelsDir).toBe(path.join(c.dataDir, 'models'));
    expect(c.executionProviders).toEqual(['cpu']);
    expect(c.REDIS_URL).toBeUndefined();
  });

  it('reads overrides and treats blank values as unset', () => {
    const c = loadConfig({
      FACECHAIN_DATA_DIR: '/srv/fc',
      WEB_PORT: '8080',
      REDIS_URL: '  ',
      FACECHAIN_EXECUTION_PROVIDERS: 'CUDA, cpu',
    });
    expect(c.dataDir).toBe('/srv/fc');
    expect(c.WEB_PORT).toBe(8080);
    expect(c.REDIS_URL).toBeUndefined();
    expect(c.executionProviders).toEqual(['cuda', 'cpu']);
  });

  it('rejects invalid values with the setting named', () => {
    expect(() => loadConfig({ WEB_PORT: 'seventy' })).toThrow(ConfigError);
    expect(() => loadConfig({ FACECHAIN_LOG_LEVEL: 'loud' })).toThrow(/FACECHAIN_LOG_LEVEL/);
  });
});
