/** The deployment's style catalog: built-in packs plus the operator's FACECHAIN_STYLES_DIR. */

import { loadManifests } from '../../models/manifest.ts';
import { config } from '../config.ts';
import { BUILTIN_STYLES_DIR, loadStyleCatalog, type StyleCatalog } from './catalog.ts';

export { BUILTIN_STYLES_DIR, type StyleCatalog, type StyleListing, type StyleProblem } from './catalog.ts';
export type { StylePack } from './pack.ts';
export { type BuiltPrompt, buildPrompt, frequentTags, type PromptIdentity } from './prompt.ts';

let loading: Promise<StyleCatalog> | undefined;

/** Load once per process (at start-up, so broken packs are reported before any request). */
export function styleCatalog(): Promise<StyleCatalog> {
  const manifests = loadManifests();
  loading ??= loadStyleCatalog({
    dirs: [BUILTIN_STYLES_DIR, config().stylesDir],
    maxLoraBytes: config().FACECHAIN_MAX_LORA_BYTES,
    knownModels: new Set(manifests.keys()),
    // Base models are the text-to-image manifests (installed or not: a pack for an uninstalled base
    // is valid; generation reports the missing model).
    knownBases: new Set([...manifests.values()].filter((m) => m.task === 'text-to-image').map((m) => m.id)),
  });
  return loading;
}
