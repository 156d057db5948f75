/** FACECHAIN_ARTIFACTS_URL and the AWS variables → the S3 store's settings (core/config.ts, core/storage/s3-settings.ts). */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../base/errors.ts';
import { loadConfig } from '../../core/config.ts';
import { LocalArtifactStore } from '../../core/storage/artifacts.ts';
import { openArtifactStore } from '../../core/storage/open-store.ts';
import { parseArtifactsUrl } from '../../core/storage/s3-settings.ts';
import { S3ArtifactStore } from '../../core/storage/s3-store.ts';
import { jobSystemOptions, openArtifacts } from '../../queue/system.ts';

const creds = { AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'SK' };

describe('S3 artifact store settings', () => {
  it('parses s3:// URLs into a bucket and a normalised prefix', () => {
    expect(parseArtifactsUrl('s3://facechain')).toEqual({ bucket: 'facechain', prefix: '' });
    expect(parseArtifactsUrl('s3://facechain/')).toEqual({ bucket: 'facechain', prefix: '' });
    expect(parseArtifactsUrl('s3://my.bucket-1/prod//eu/')).toEqual({
      bucket: 'my.bucket-1',
      prefix: 'prod/eu/',
    });
    for (const bad of [
      'facechain',
      'http://x/y',
      's3://',
      's3://UPPER',
      's3://ab',
      's3://b/../x',
      's3://b/a b',
      's3://b?x=1',
    ])
      expect(() => parseArtifactsUrl(bad), bad).toThrow(ConfigError);
    expect(() => parseArtifactsUrl('s3://bucket/../x')).toThrow(/prefix segment "\.\."/);
  });

  it('unset: the local folder; set: S3 with the standard AWS variables', () => {
    expect(loadConfig({}).artifactsS3).toBeUndefined();
    const cfg = loadConfig({
      FACECHAIN_ARTIFACTS_URL: 's3://facechain/prod',
      ...creds,
      AWS_SESSION_TOKEN: 'ST',
      AWS_DEFAULT_REGION: 'eu-west-1',
    });
    expect(cfg.artifactsS3).toEqual({
      bucket: 'facechain',
      prefix: 'prod/',
      region: 'eu-west-1',
      endpoint: undefined,
      pathStyle: false,
      accessKeyId: 'AK',
      secretAccessKey: 'SK',
      sessionToken: 'ST',
      partSize: 8 * 1024 * 1024,
    });
    // AWS_REGION wins over AWS_DEFAULT_REGION; the S3-specific endpoint over the general one;
    // a custom server gets path-style addressing unless told otherwise.
    const minio = loadConfig({
      FACECHAIN_ARTIFACTS_URL: 's3://facechain',
      ...creds,
      AWS_REGION: 'us-west-2',
      AWS_DEFAULT_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL: 'http://general:9000',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000/',
      FACECHAIN_S3_PART_MB: '16',
    }).artifactsS3;
    expect(minio).toMatchObject({ region: 'us-west-2', endpoint: 'http://127.0.0.1:9000', pathStyle: true });
    expect(minio?.partSize).toBe(16 * 1024 * 1024);
    const vhost = loadConfig({
      FACECHAIN_ARTIFACTS_URL: 's3://facechain',
      ...creds,
      AWS_ENDPOINT_URL: 'https://storage.example.net',
      FACECHAIN_S3_PATH_STYLE: 'false',
    }).artifactsS3;
    expect(vhost).toMatchObject({
      endpoint: 'https://storage.example.net',
      pathStyle: false,
      region: 'us-east-1',
    });
  });

  it('refuses missing credentials, bad endpoints and part sizes with messages that say what to set', () => {
    expect(() => loadConfig({ FACECHAIN_ARTIFACTS_URL: 's3://facechain' })).toThrow(
      /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
    );
    expect(() => loadConfig({ FACECHAIN_ARTIFACTS_URL: 's3://facechain', AWS_ACCESS_KEY_ID: 'AK' })).toThrow(
      ConfigError,
    );
    expect(() =>
      loadConfig({ FACECHAIN_ARTIFACTS_URL: 's3://facechain', ...creds, AWS_ENDPOINT_URL_S3: 'minio:9000' }),
    ).toThrow(/AWS_ENDPOINT_URL_S3 .*not a URL|must be an http/);
    expect(() =>
      loadConfig({
        FACECHAIN_ARTIFACTS_URL: 's3://facechain',
        ...creds,
        AWS_ENDPOINT_URL: 'http://h:9000/bucket',
      }),
    ).toThrow(/without a path/);
    expect(() =>
      loadConfig({ FACECHAIN_ARTIFACTS_URL: 's3://facechain', ...creds, FACECHAIN_S3_PART_MB: '4' }),
    ).toThrow(/FACECHAIN_S3_PART_MB/);
  });

  it('the job layer opens the store the configuration names', () => {
    const local = loadConfig({});
    expect(openArtifacts(jobSystemOptions(local, 'redis://x'))).toBeInstanceOf(LocalArtifactStore);
    const s3 = loadConfig({ FACECHAIN_ARTIFACTS_URL: 's3://facechain', ...creds });
    const store = openArtifacts(jobSystemOptions(s3, 'redis://x'));
    expect(store).toBeInstanceOf(S3ArtifactStore);
    expect(JSON.stringify(store)).not.toContain('SK');
    expect(openArtifactStore('/tmp/x')).toBeInstanceOf(LocalArtifactStore);
  });
});
