/**
 * One set of body models (pose and person segmentation) per thread, loaded on first use from the
 * model store. A failed load is not kept, so the next job tries again.
 */
import { ModelStore } from '../../models/store.ts';
import { config } from '../config.ts';
import { BodyModels } from './body-models.ts';

let models: Promise<BodyModels> | undefined;

export function sharedBodyModels(): Promise<BodyModels> {
  models ??= BodyModels.load(new ModelStore(config().modelsDir), { threads: config().FACECHAIN_ORT_THREADS });
  models.catch(() => {
    models = undefined;
  });
  return models;
}
