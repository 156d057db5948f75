/** Every setting the configuration accepts is documented in the README and in .env.example. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../core/config.ts';

const keys = Object.keys(configSchema.shape);

describe('settings documentation', () => {
  it('lists every setting in the README table', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(keys.filter((k) => !readme.includes(`| \`${k}\` |`))).toEqual([]);
  });

  it('lists every setting in .env.example', () => {
    const example = readFileSync('.env.example', 'utf8');
    expect(keys.filter((k) => !new RegExp(`^#? ?${k}=`, 'm').test(example))).toEqual([]);
  });
});
