/** Before any test: make sure the default models are in the cache (fetched once, then verified). */
import { config } from '../core/config.ts';
import { ModelStore } from '../models/store.ts';

export default async function setup(): Promise<void> {
  const store = new ModelStore(config().modelsDir);
  const res = await store.fetch(store.defaultIds());
  const bad = res.filter((r) => r.state !== 'ok');
  if (bad.length) throw new Error(`models not available for tests: ${bad.map((b) => b.model).join(', ')}`);
}
