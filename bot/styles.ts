/** The installed style packs (core/styles) as the commands see them: id, names, descriptions, preview bytes. */
import { readFile } from 'node:fs/promises';
import { LOCALES } from '../base/i18n/index.ts';
import { log } from '../base/log.ts';
import type { StyleView } from '../commands/kit/services.ts';
import { config } from '../core/config.ts';
import { BUILTIN_STYLES_DIR, loadStyleCatalog } from '../core/styles/catalog.ts';

const logger = log('styles');

/** Load once at start-up (broken packs are logged and left out); previews are read into memory. */
export async function installedStyles(
  dirs: string[] = [BUILTIN_STYLES_DIR],
): Promise<() => Promise<StyleView[]>> {
  const catalog = await loadStyleCatalog({ dirs, maxLoraBytes: config().FACECHAIN_MAX_LORA_BYTES });
  for (const p of catalog.problems) logger.warn({ pack: p.pack, code: p.code }, p.message);
  const byLocale = new Map(LOCALES.map((l) => [l, new Map(catalog.list(l).map((s) => [s.id, s]))]));
  const views: StyleView[] = [];
  for (const s of catalog.list('en')) {
    const preview = s.preview ? { bytes: new Uint8Array(await readFile(s.preview.path)) } : undefined;
    const names: Record<string, string> = {};
    const descriptions: Record<string, string> = {};
    for (const l of LOCALES) {
      const local = byLocale.get(l)?.get(s.id);
      if (local) names[l] = local.name;
      if (local?.description) descriptions[l] = local.description;
    }
    views.push({
      id: s.id,
      name: s.name,
      names,
      ...(Object.keys(descriptions).length ? { descriptions } : {}),
      ...(preview ? { preview } : {}),
    });
  }
  return async () => views;
}
