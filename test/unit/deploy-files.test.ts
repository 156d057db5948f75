/**
 * The container files copy every production folder the app imports from (a folder added to the
 * stack and forgotten here builds an image that cannot start), and install the programs the
 * workers run as processes. No container engine runs here, so this is what can be checked.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const PRODUCTION = ['base', 'bin', 'bot', 'commands', 'core', 'models', 'queue'];

describe('deploy/*.Dockerfile', () => {
  for (const name of ['cpu', 'gpu']) {
    it(`${name}: copies every production folder and installs ffmpeg and eSpeak NG`, () => {
      const text = readFileSync(new URL(`../../deploy/${name}.Dockerfile`, import.meta.url), 'utf8');
      for (const dir of PRODUCTION) expect(text, dir).toMatch(new RegExp(`^COPY ${dir} \\./${dir}$`, 'm'));
      expect(text).toMatch(/apt-get install[^\n]*\bffmpeg\b[^\n]*\bespeak-ng\b/);
    });
  }
});
