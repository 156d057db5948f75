/**
 * Styles with pictures: `facechain styles previews` renders a pack's preview with the engine (here
 * a fixture SD 1.5 model) and stores it with the pack; the chat gallery then shows it, names and
 * descriptions in the user's language, and says which styles have no picture yet. Without the
 * generation model the command says it is not available and changes nothing.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { translate } from '../../base/i18n/index.ts';
import { installedStyles } from '../../bot/styles.ts';
import { OPEN_POLICY } from '../../commands/kit/policy.ts';
import type { Services } from '../../commands/kit/services.ts';
import { styles as stylesCommand } from '../../commands/styles.ts';
import { decodeImage } from '../../core/image/codec.ts';
import { BUILTIN_STYLES_DIR } from '../../core/styles/catalog.ts';
import { writeFixtureSdModel } from '../../models/fixtures/sd.ts';

const run = promisify(execFile);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fc-previews-'));
const stylesDir = path.join(tmp, 'styles');
const model = path.join(tmp, 'sd');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function writePack(id: string, extra: Record<string, unknown> = {}): void {
  mkdirSync(path.join(stylesDir, id), { recursive: true });
  writeFileSync(
    path.join(stylesDir, id, 'style.json'),
    JSON.stringify({
      id,
      name: { en: `Test ${id}`, zh: `测试${id}` },
      description: { en: 'A test style.', zh: '一个测试风格。' },
      base: 'sd15-film',
      prompt: 'a test style',
      sampler: { name: 'euler', steps: 4, width: 256, height: 256 },
      licence: { spdx: 'Apache-2.0', source: 'test' },
      ...extra,
    }),
  );
}

const cli = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ['bin/facechain.js', 'styles', ...args], {
    env: { ...process.env, FACECHAIN_STYLES_DIR: stylesDir, FACECHAIN_LOG_LEVEL: 'warn', ...env },
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

describe('facechain styles previews', () => {
  it('without the generation model: "not available", nothing written', async () => {
    writePack('zz-a');
    const r = await cli(['previews', '--only', 'zz-a'], {
      FACECHAIN_SD_MODEL_DIR: path.join(tmp, 'missing'),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/zz-a: Style previews is not available on this deployment/);
    expect(existsSync(path.join(stylesDir, 'zz-a', 'preview.jpg'))).toBe(false);
  });

  it('renders a preview into the pack; the gallery shows it, in the user language, and names those without', async () => {
    writeFixtureSdModel(model);
    writePack('zz-b');
    const r = await cli(['previews', '--only', 'zz-a', '--model', model, '--seed', '3']);
    expect(r.code).toBe(0);
    const file = path.join(stylesDir, 'zz-a', 'preview.jpg');
    expect(r.stdout.trim()).toBe(`zz-a → ${file}`);
    const img = await decodeImage(readFileSync(file));
    expect([img.width, img.height]).toEqual([256, 256]);
    expect(JSON.parse(readFileSync(path.join(stylesDir, 'zz-a', 'style.json'), 'utf8')).preview).toBe(
      'preview.jpg',
    );
    // A second run keeps it unless forced.
    const again = await cli(['previews', '--only', 'zz-a', '--model', model]);
    expect(again.stderr).toMatch(/zz-a: has a preview/);

    // The chat gallery (page 3 holds the two test packs after the ten built-in ones).
    const list = await installedStyles([BUILTIN_STYLES_DIR, stylesDir]);
    const services = { styles: { list } } as unknown as Services;
    const page = async (locale: 'en' | 'zh-CN') =>
      stylesCommand.run(
        {
          inv: {} as never,
          services,
          locale,
          policy: OPEN_POLICY,
          t: (k, p) => translate(locale, k, p),
        },
        { action: 'page', arg: 2 },
      );
    const zh = await page('zh-CN');
    expect(zh.text).toContain('• 测试zz-a (zz-a) — 一个测试风格。\n');
    expect(zh.text).toContain('• 测试zz-b (zz-b) — 一个测试风格。 （暂无预览图）');
    expect(zh.images?.map((i) => [i.name, i.caption])).toEqual([['zz-a.jpg', '测试zz-a']]);
    // A page where no style has a picture says so once.
    const en = await page('en');
    expect(en.images).toHaveLength(1);
    const first = await stylesCommand.run(
      { inv: {} as never, services, locale: 'en', policy: OPEN_POLICY, t: (k, p) => translate('en', k, p) },
      { action: 'page', arg: 0 },
    );
    expect(first.images).toBeUndefined();
    expect(first.text).toContain('These styles have no preview pictures yet.');
  }, 120_000);
});
